"""Print the behavioural oracle's report over the shared corpus: apps with zero findings / apps checked,
findings by kind, and each finding. Usage: python tests/support/behaviour_report.py [CORPUS_DIR]"""

from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    from oracle import docker_compose_binary, oracle_env
    from test_behaviour import run_app

    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "corpus"
    names = [n for n in (corpus / "compose-files.txt").read_text().splitlines() if n.strip()]
    binary = docker_compose_binary()
    env = oracle_env()
    checked = clean = 0
    kinds: collections.Counter[str] = collections.Counter()
    warned = 0
    lines = []
    stats: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(names):
            result = run_app([corpus / name], binary, Path(tmp) / f"c{i}", env, stats)
            if result is None:
                continue
            findings, names_warned = result
            checked += 1
            clean += not findings
            warned += len(names_warned)
            kinds.update(f.kind for f in findings)
            lines += [f"  {name}: {f}" for f in findings]
    print(f"apps with zero findings: {clean}/{checked}")
    print(f"names bridge warned it cannot represent (referenced): {warned}")
    for kind, count in sorted(kinds.items()):
        print(f"  {kind}: {count}")
    print("checked: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
