"""Print the day-two oracle's report (tests/support/daytwo.py): for each kind, apps clean / apps checked,
over the examples, the fixtures and the shared corpus's real-world apps.

    python tests/support/daytwo_report.py [--bridge-path DIR] [--no-guard]

Charts are made by `python -m bridge convert` with DIR first on PYTHONPATH (default: this checkout), so
another version of bridge (a `git worktree` of an older commit) can be measured the same way.
`--no-guard` counts collisions of compose-name Services too (this version refuses a second owner of
those at install, so the suite leaves them out)."""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

RUNNER_MODES = [
    {"modelRunner.enabled": "true"},
    {"modelRunner.enabled": "true", "modelRunner.replicas": "2", "modelRunner.storage.mode": "perReplica"},
    {"modelRunner.enabled": "true", "modelRunner.gpu.enabled": "true"},
]


def apps() -> list[Path]:
    out = [ROOT / "examples" / n / "compose.yaml" for n in ("chat", "rag", "agents", "shop")]
    out += [ROOT / "tests" / "fixtures" / n / "compose.yaml" for n in ("kitchen-sink", "models", "runtime", "multi")]
    listing = ROOT.parent / "shared" / "corpus" / "realworld" / "compose-files.txt"
    if listing.is_file():
        out += [listing.parent / line for line in listing.read_text().split() if line]
    return out


def convert(bridge_path: Path, compose: Path, out: Path, version: str = "0.1.0") -> bool:
    from oracle import oracle_env

    env = {**oracle_env(), "PYTHONPATH": str(bridge_path), "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
    result = subprocess.run([sys.executable, "-m", "bridge", "convert", str(compose), "-o", str(out), "-q",
                             "--chart-version", version], cwd=compose.parent, env=env, capture_output=True, text=True)
    return result.returncode == 0


def main() -> int:
    import yaml
    from chartcheck import template
    from daytwo import KINDS, collision_findings, release_findings, upgrade_findings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bridge-path", type=Path, default=ROOT)
    parser.add_argument("--no-guard", action="store_true")
    args = parser.parse_args()
    dirty: collections.Counter[str] = collections.Counter()
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        convert(args.bridge_path, ROOT / "tests" / "fixtures" / "kitchen-sink" / "compose.yaml", other)
        for i, app in enumerate(apps()):
            v1, v2 = Path(tmp) / f"a{i}", Path(tmp) / f"b{i}"
            if not (convert(args.bridge_path, app, v1) and convert(args.bridge_path, app, v2, "2.0.0")):
                continue
            checked += 1
            values = yaml.safe_load((v1 / "values.yaml").read_text())
            keys = [k for k, v in values.items() if isinstance(v, dict) and isinstance(v.get("image"), dict)]
            compose = yaml.safe_load(subprocess.run(
                [sys.executable, "-m", "bridge", "config", "-f", str(app), "--format", "json"], capture_output=True,
                text=True, cwd=app.parent, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout or "{}")
            aliases = {line.split(":", 1)[1].strip().strip('"') for f in v1.glob("templates/*-alias.yaml")
                       for line in f.read_text().splitlines() if line.startswith("  name: ")}
            findings = []
            modes = [{}] + (RUNNER_MODES if values.get("modelRunner", {}).get("models") else [])
            for mode in modes:
                try:
                    release = template(v1, values=mode, release="r")
                    findings += release_findings(release, compose)
                    tags = {f"{k}.image.tag": "changed" for k in keys}
                    findings += upgrade_findings(release, template(v1, values={**mode, **tags}, release="r"))
                    findings += upgrade_findings(release, template(v2, values=mode, release="r"))
                    collisions = collision_findings(("r", release), ("r2", template(v1, values=mode, release="r2")),
                                                    ("other", template(other, values=mode, release="other")))
                except AssertionError as exc:  # a chart Helm cannot render in this mode
                    reason = " ".join(str(exc).splitlines()[:3])[:300]
                    print(f"  {app.relative_to(ROOT.parent)}: {reason}")
                    continue
                findings += [f for f in collisions if args.no_guard or f.what.split("/", 1)[1] not in aliases]
            for kind in {f.kind for f in findings}:
                dirty[kind] += 1
            for f in sorted(set(findings))[:3]:
                print(f"  {app.relative_to(ROOT.parent)}: {f}")
    print(f"apps checked: {checked}")
    for kind in KINDS:
        print(f"{kind:24} clean {checked - dirty[kind]}/{checked}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
