"""What a chart may hold: content from the user's own tree, never from the machine that converts.

Charts are committed and published, often by CI jobs converting repositories they do not control, so a
compose file must not be able to copy the converting machine into a chart: `env_file`, `configs` and
`secrets` files and bind-mounted files are read only from inside the project's content root (the git
work tree that holds the project directory, else that directory), after following symlinks; paths under
/proc, /sys and /dev (`env_file: /proc/self/environ` is the converting process's environment) are refused
outright.
"""

from __future__ import annotations

import functools
from pathlib import Path

SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))
# The host's own paths, as Docker users bind them (the Docker socket, logs, devices, the time zone, kernel
# modules): a hostPath at most. Every other path a compose file binds is the user's files or data.
HOST_PATHS = (*SYSTEM, Path("/run"), Path("/var/run"), Path("/var/log"), Path("/var/lib/docker"), Path("/etc"),
              Path("/lib/modules"), Path("/usr/share/zoneinfo"), Path("/tmp/.X11-unix"), Path("/boot"))


@functools.lru_cache(maxsize=64)  # asked for every bind mount, env file and config of a project
def content_root(project_dir: str) -> Path:
    """The git work tree that holds the project directory, else the directory itself (resolved)."""
    start = Path(project_dir).resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def is_system(path: Path) -> bool:
    """Under /proc, /sys or /dev, as written or once symlinks are followed."""
    return any(_under(p, s) for s in SYSTEM for p in (Path(path).absolute(), Path(path).resolve()))


def is_host_path(path: Path) -> bool:
    """A path of the host itself (HOST_PATHS, or `/`), not of the user's."""
    absolute = Path(path).absolute()
    return absolute == Path("/") or any(_under(absolute, p) for p in HOST_PATHS)


def is_inside(path: Path, root: Path) -> bool:
    """Inside the content root once symlinks are followed (a link out of the project is outside)."""
    return _under(Path(path).resolve(), root)
