"""The `bridge` command line. Imports are lazy so `bridge --version` starts fast."""

from __future__ import annotations

import sys
from typing import Any

import click

from . import __version__

_LOAD_OPTIONS = [
    click.option("-f", "--file", "files", multiple=True, help="Compose file (repeatable; default: compose.yaml in the current directory)."),
    click.option("--profile", "profiles", multiple=True, help="Enable a profile (repeatable)."),
    click.option("--env-file", "env_files", multiple=True, help="Environment file (repeatable; default: .env in the project directory)."),
    click.option("-p", "--project-name", "project_name", help="Project name (default: `name:` or the directory name)."),
    click.option("--project-directory", "project_directory", help="Base directory for relative paths (default: the first file's directory)."),
]


FORK_WRITER_SERVICES = 50


def load_options(func: Any) -> Any:
    for option in reversed(_LOAD_OPTIONS):
        func = option(func)
    return func


def _fail(exc: BaseException) -> None:
    click.echo(f"bridge: {exc}", err=True)
    sys.exit(1)


def _load(files: tuple, profiles: tuple, env_files: tuple, project_name: str | None,
          project_directory: str | None, interpolate: bool = True) -> Any:
    from .errors import UsageError
    from .loader import Options, load

    opts = Options(
        files=list(files), profiles=list(profiles), env_files=list(env_files),
        project_name=project_name, project_directory=project_directory, interpolate=interpolate,
    )
    try:
        return load(opts)
    except UsageError as exc:
        click.echo(f"bridge: {exc}", err=True)
        sys.exit(2)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        from .errors import BridgeError

        try:
            return super().invoke(ctx)
        except BridgeError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("bridge: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
def main() -> None:
    """Convert a Docker Compose application into a Helm chart."""


@main.command()
@load_options
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--no-interpolate", is_flag=True, help="Do not interpolate variables.")
@click.option("-q", "--quiet", is_flag=True, help="Only validate; print nothing.")
def config(files: tuple, profiles: tuple, env_files: tuple, project_name: str | None,
           project_directory: str | None, fmt: str, no_interpolate: bool, quiet: bool) -> None:
    """Print the canonical project, like `docker compose config`."""
    from .emit import config_document, to_json, to_yaml

    project = _load(files, profiles, env_files, project_name, project_directory, not no_interpolate)
    for warning in project.warnings:
        click.echo(f"bridge: warning: {warning}", err=True)
    if quiet:
        return
    doc = config_document(project.data, escape=not no_interpolate)
    click.echo(to_json(doc) if fmt == "json" else to_yaml(doc), nl=False)


@main.command()
@click.argument("compose_file", required=False)
@load_options
@click.option("-o", "--output", "output", help="Chart directory to write (default: ./<project>-chart).")
@click.option("--chart-name", help="Chart name (default: the project name).")
@click.option("--chart-version", default="0.1.0", show_default=True, help="Chart version (SemVer 2).")
@click.option("--app-version", help="appVersion of the chart (default: latest).")
@click.option("--templates", "templates", type=click.Path(file_okay=False), help="Directory of Jinja templates overriding the built-in ones.")
@click.option("--embed-secrets", is_flag=True,
              help="Copy the content of compose secrets into the chart (default: supplied at install time).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the output directory differs from what would be generated.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def convert(compose_file: str | None, files: tuple, profiles: tuple, env_files: tuple, project_name: str | None,
            project_directory: str | None, output: str | None, chart_name: str | None, chart_version: str,
            app_version: str | None, templates: str | None, embed_secrets: bool, check: bool, quiet: bool) -> None:
    """Convert a compose project into a Helm chart."""
    import os
    from pathlib import Path

    from .build import build_chart
    from .limits import check_limits
    from .render import ChartWriter, compare_chart, install_info, render_chart
    from .versioning import check_chart_name, check_chart_version

    if compose_file:
        files = (compose_file, *files)
    for value, check_value, hint in ((chart_version, check_chart_version, "--chart-version"),
                                     (chart_name, check_chart_name, "--chart-name")):
        try:
            if value is not None:
                check_value(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=hint) from None
    project = _load(files, profiles, env_files, project_name, project_directory)
    chart = build_chart(project, chart_name, chart_version, app_version, embed_secrets)
    dest = Path(output or f"{project.name}-chart")
    shown = os.path.relpath(dest, os.getcwd()) if not dest.is_absolute() else str(dest)
    chart_dir = shown if shown.startswith(("/", "../", "./")) else "./" + shown
    overrides = Path(templates) if templates else None
    if check:
        rendered = render_chart(chart, overrides, chart_dir, os.getcwd())
        check_limits(chart, rendered, project)
        problems = compare_chart(rendered, dest)
        if problems:
            click.echo(f"bridge: {dest} is out of date ({len(problems)} files differ):", err=True)
            for line in problems[:20]:
                click.echo(f"  {line}", err=True)
            sys.exit(1)
        if not quiet:
            click.echo(f"{dest} is up to date")
        return
    # A writer process pays off once there are enough files to overlap with rendering (~8 per service).
    with ChartWriter(dest, fork=len(chart.services) >= FORK_WRITER_SERVICES) as writer:
        rendered = render_chart(chart, overrides, chart_dir, os.getcwd(), sink=writer.put)
        check_limits(chart, rendered, project)
        writer.commit()
    if not quiet:
        for warning in chart.warnings:
            click.echo(f"bridge: warning: {warning}", err=True)
        counts = ", ".join(_count(n, word) for n, word in (
            (len(chart.services), "service"), (len(chart.volumes), "volume"), (len(chart.models), "model")))
        click.echo(f"wrote {dest}/ ({_count(len(rendered), 'file')}: {counts})")
        info = install_info(chart, chart_dir, os.getcwd())
        if info["values"]:
            click.echo("install it with (secret contents are supplied at install time, not kept in the chart):")
        else:
            click.echo("install it with:")
        click.echo(f"  {info['command']}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
