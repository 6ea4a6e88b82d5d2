"""Run checkov (in its own venv, `.tools/checkov-venv`) on rendered manifests; return failed check ids."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".tools" / "checkov-venv" / "bin" / "checkov"


def failed_checks(docs: list[dict], workdir: Path) -> dict[str, set[str]]:
    """check id -> names of the objects failing it. One object per file: checkov reads that reliably."""
    workdir.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(docs):
        (workdir / f"{i:04d}-{doc['kind'].lower()}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run([str(CHECKOV), "--framework", "kubernetes", "--skip-download", "--quiet", "-o", "json",
                           "-d", str(workdir)], capture_output=True, text=True, timeout=600)
    report = json.loads(proc.stdout or "{}")
    reports = report if isinstance(report, list) else [report]
    out: dict[str, set[str]] = {}
    for r in reports:
        for check in (r.get("results") or {}).get("failed_checks") or []:
            out.setdefault(check["check_id"], set()).add(check.get("resource", ""))
    return out
