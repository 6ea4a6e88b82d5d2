"""Run `bridge` in-process as a user's shell would: exit code and the terminal's text (stdout and
stderr interleaved)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from bridge.cli import main


@dataclass
class Result:
    exit_code: int
    output: str


def invoke(args: list[str]) -> Result:
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Result(code, out.getvalue())
