"""Write a rendered chart atomically: into a temporary directory beside the destination, renamed into
place only when every file is written. A failed conversion never leaves half a chart."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import BridgeError


def _check_destination(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise BridgeError(f"output {dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / "Chart.yaml").is_file():
        raise BridgeError(f"output directory {dest} is not empty and holds no chart; refusing to overwrite it")


def _inside(rel: str) -> str:
    clean = os.path.normpath(rel)
    if os.path.isabs(clean) or clean == ".." or clean.startswith(".." + os.sep):
        raise BridgeError(f"refusing to write outside the chart: {rel}")
    return clean


def write_chart(files: dict[str, bytes], dest: Path) -> None:
    """Write `files` (chart path -> content) as the chart at `dest`, replacing a chart already there."""
    dest = dest.resolve()
    _check_destination(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    except OSError as exc:
        raise BridgeError(f"cannot write the chart: {exc}") from None
    try:
        folders = {tmp}
        for rel, content in sorted(files.items()):
            path = tmp / _inside(rel)
            if path.parent not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(path.parent)
            path.write_bytes(content)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; a chart is an ordinary folder
        old = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
            os.rmdir(old)
            dest.rename(old)
        tmp.rename(dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BridgeError(f"cannot write the chart: {exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def compare_chart(files: dict[str, bytes], dest: Path) -> list[str]:
    """Differences between generated files and what is in `dest` (for --check)."""
    existing: dict[str, bytes] = {}
    if dest.is_dir():
        for path in dest.rglob("*"):
            if path.is_file():
                existing[path.relative_to(dest).as_posix()] = path.read_bytes()
    problems = []
    for rel in sorted(set(files) | set(existing)):
        if rel not in existing:
            problems.append(f"missing: {rel}")
        elif rel not in files:
            problems.append(f"extra: {rel}")
        elif files[rel] != existing[rel]:
            problems.append(f"changed: {rel}")
    return problems


def write_secret_values(env_secrets: dict[str, str], dest: Path) -> Path:
    """The secret environment values as a Helm values file beside the chart at `dest` (never inside it:
    the chart gets committed and published), readable by its owner only, written atomically."""
    from .encode import to_yaml
    from .secrets import secret_values_path

    path = secret_values_path(dest.resolve())
    text = ("# Secret environment values of the chart beside this file (from .env and the environment when\n"
            "# bridge convert ran). Pass it to helm install/upgrade with -f. Keep it out of version control.\n"
            + to_yaml({"envSecrets": {"values": dict(sorted(env_secrets.items()))}}) + "\n")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise BridgeError(f"cannot write the secret values: {exc}") from None
    return path
