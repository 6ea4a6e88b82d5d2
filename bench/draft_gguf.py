"""A draft model for speculative decoding cut from the main model: a copy of a GGUF with only its first
N transformer blocks (the embeddings, output norm and output head kept), so it shares the vocabulary.

    python bench/draft_gguf.py MODEL.gguf OUT.gguf --layers 3
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def cut_layers(source: Path, dest: Path, layers: int) -> Path:
    """Write `dest`: `source` with blocks 0..layers-1 only and `<arch>.block_count` set to `layers`."""
    import gguf

    reader = gguf.GGUFReader(str(source))
    arch = str(reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    count_key = f"{arch}.block_count"
    total = int(reader.fields[count_key].contents())
    if not 1 <= layers < total:
        raise SystemExit(f"--layers must be between 1 and {total - 1} ({source.name} has {total} blocks)")
    writer = gguf.GGUFWriter(str(dest), arch, endianess=reader.endianess)
    for field in reader.fields.values():
        # GGUF.* are the reader's own virtual fields; the architecture the writer writes itself
        if field.name.startswith("GGUF.") or field.name == gguf.Keys.General.ARCHITECTURE:
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = layers if field.name == count_key else field.contents()
        writer.add_key_value(field.name, value, value_type, sub_type=sub_type)
    block = re.compile(r"^blk\.(\d+)\.")
    kept = [t for t in reader.tensors if not (m := block.match(t.name)) or int(m.group(1)) < layers]
    for tensor in kept:
        writer.add_tensor_info(tensor.name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes, tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in kept:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--layers", type=int, default=3)
    args = parser.parse_args()
    cut_layers(args.source, args.dest, args.layers)
    print(f"wrote {args.dest} ({args.dest.stat().st_size / 2**20:.1f} MiB, {args.layers} blocks)")


if __name__ == "__main__":
    main()
