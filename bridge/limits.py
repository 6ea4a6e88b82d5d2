"""Limits of Helm and Kubernetes that a chart must stay under, checked at convert time.

A chart over them converts fine and then fails at `helm lint`/`helm install` (or, worse, at the API
server), so `bridge convert` refuses it with a clear error instead:
- Helm loads no chart file over 5 MiB and no chart over 100 MiB (MaxDecompressedFileSize and
  MaxDecompressedChartSize in helm's chart loader, for directories and archives alike);
- the API server stores no object over about 1.5 MiB (etcd's request limit), so one workload's values
  (its env above all) must stay well under that;
- ConfigMaps and Secrets hold at most 1 MiB of data (MAX_OBJECT_DATA, checked where they are built:
  builders/files.py and builders/volumes.py).
Helm's release record (the whole chart plus the manifests, gzipped, in one Secret of at most 1 MiB)
depends on the storage driver, so an estimate over it is a warning, not an error.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from .errors import BridgeError
from .model import Chart

MiB = 1024 * 1024
MAX_CHART_FILE = 5 * MiB
MAX_CHART = 100 * MiB
MAX_WORKLOAD_VALUES = 1 * MiB
MAX_RELEASE_RECORD = 1 * MiB
# Kubernetes caps a ConfigMap's or Secret's data at 1 MiB; keep room for the object's metadata.
MAX_OBJECT_DATA = MiB - 4096


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n / 1024:.0f} KiB"


def check_limits(chart: Chart, files: dict[str, bytes], project: Any) -> None:
    """Raise a BridgeError (pointing at the compose key responsible) when the chart is over a limit."""
    sizes = {svc.name: len(json.dumps(chart.values.get(svc.key), ensure_ascii=False)) for svc in chart.services}

    def fail(message: str, service: str | None) -> None:
        path = ("services", service) if service else ()
        file, line, col = project.locate(path) if service else (project.files[0] if project.files else None, None, None)
        raise BridgeError(message, file, line, col, path)

    biggest = max(sizes, key=lambda s: (sizes[s], s)) if sizes else None
    for svc, size in sorted(sizes.items()):
        if size > MAX_WORKLOAD_VALUES:
            fail(f"service {svc}: its settings (environment above all) come to {_size(size)}, more than a "
                 f"Kubernetes object can hold (about 1.5 MiB, {_size(MAX_WORKLOAD_VALUES)} for the pod spec); "
                 f"move large values into a config file (compose `configs`)", svc)
    for path, content in sorted(files.items()):
        if len(content) > MAX_CHART_FILE:
            culprit = biggest if path == "values.yaml" else None
            hint = f"; service {culprit} contributes most ({_size(sizes[culprit])})" if culprit else ""
            fail(f"the chart's {path} would be {_size(len(content))}, over Helm's limit of "
                 f"{_size(MAX_CHART_FILE)} per chart file{hint}", culprit)
    total = sum(len(c) for c in files.values())
    if total > MAX_CHART:
        fail(f"the chart would be {_size(total)}, over Helm's limit of {_size(MAX_CHART)} per chart", biggest)
    # The release record holds the chart's files and the rendered manifests (which repeat the values and
    # the files/ content), gzipped (zlib's gzip container: gzip.compress's size) and base64-encoded.
    if 2 * 4 * (total + total // 1000 + 64) // 3 <= MAX_RELEASE_RECORD:
        return  # even incompressible (deflate adds 5 bytes per stored 64 KiB block, gzip 18), it fits
    gzipped = zlib.compressobj(1, zlib.DEFLATED, 31)  # fed file by file: the same stream as their concatenation
    size = sum(len(gzipped.compress(content)) for _, content in sorted(files.items())) + len(gzipped.flush())
    estimate = 2 * 4 * ((size + 2) // 3)
    if estimate > MAX_RELEASE_RECORD:
        chart.warnings.append(
            f"the release record Helm stores for this chart is about {_size(estimate)}; Helm's default "
            f"storage (a Secret, at most 1 MiB) will refuse it: install with HELM_DRIVER=sql, or move "
            f"large files out of the chart")
