"""The convert pipeline as the tests run it: load -> build -> render (-> write), in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge.build import Chart, build_chart
from bridge.loader import Options, Project, load
from bridge.render import render_chart
from bridge.writer import write_chart, write_secret_values


@dataclass
class Converted:
    project: Project
    chart: Chart
    files: dict[str, bytes]  # chart path -> content
    path: Path | None  # where the chart was written, if it was


def convert(files: Sequence[str | Path], out: Path | None = None, environ: Mapping[str, str] | None = None,
            cwd: str | Path | None = None, profiles: Sequence[str] = (), embed_secrets: bool = False,
            chart_version: str = "0.1.0") -> Converted:
    """Convert compose `files` as `bridge convert` does (environ {} unless given: no process env leaks
    in); write the chart to `out` when given."""
    paths = [str(f) for f in files]
    project = load(Options(files=paths, profiles=list(profiles), environ={} if environ is None else dict(environ),
                           cwd=str(cwd) if cwd is not None else None))
    chart = build_chart(project, chart_version=chart_version, embed_secrets=embed_secrets)
    rendered = render_chart(chart)
    if out is not None:
        write_chart(rendered, out)
        if chart.env_secrets and not embed_secrets:
            write_secret_values(chart.env_secrets, out)
    return Converted(project, chart, rendered, out)
