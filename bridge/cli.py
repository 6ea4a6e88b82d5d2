"""The `bridge` command line (argparse). The pipeline's modules are imported by the command that
runs, so `bridge --help` does not load the loader, Jinja or jsonschema."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__

EXIT_USAGE = 2


def _echo(text: str, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + ("\n" if nl else ""))
    stream.flush()


def _fail(message: str, code: int = 1) -> None:
    _echo(f"bridge: {message}", err=True)
    sys.exit(code)


def _load_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("-f", "--file", dest="files", action="append", default=[], metavar="FILE",
        help="Compose file (repeatable; default: compose.yaml in the current directory).")
    add("--profile", dest="profiles", action="append", default=[], metavar="PROFILE", help="Enable a profile (repeatable).")
    add("--env-file", dest="env_files", action="append", default=[], metavar="FILE",
        help="Environment file (repeatable; default: .env in the project directory).")
    add("-p", "--project-name", help="Project name (default: `name:` or the directory name).")
    add("--project-directory", help="Base directory for relative paths (default: the first file's directory).")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bridge", description="Convert a Docker Compose application into a Helm chart.")
    top.add_argument("--version", action="version", version=f"bridge, version {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")

    config = commands.add_parser("config", help="Print the canonical project, like `docker compose config`.",
                                 description="Print the canonical project, like `docker compose config`.")
    _load_options(config)
    config.add_argument("--format", dest="fmt", choices=["yaml", "json"], default="yaml",
                        help="Output format (default: yaml).")
    config.add_argument("--no-interpolate", action="store_true", help="Do not interpolate variables.")
    config.add_argument("-q", "--quiet", action="store_true", help="Only validate; print nothing.")

    convert = commands.add_parser("convert", help="Convert a compose project into a Helm chart.",
                                  description="Convert a compose project into a Helm chart.")
    convert.add_argument("compose_file", nargs="?", help="Compose file (same as a first -f).")
    _load_options(convert)
    add = convert.add_argument
    add("-o", "--output", help="Chart directory to write (default: ./<project>-chart).")
    add("--chart-name", help="Chart name (default: the project name).")
    add("--chart-version", default="0.1.0", help="Chart version (SemVer 2; default: 0.1.0).")
    add("--app-version", help="appVersion of the chart (default: latest).")
    add("--templates", help="Directory of Jinja templates overriding the built-in ones.")
    add("--embed-secrets", action="store_true",
        help="Copy the content of compose secrets into the chart (default: supplied at install time).")
    add("--check", action="store_true",
        help="Write nothing; exit 1 if the output directory differs from what would be generated.")
    add("-q", "--quiet", action="store_true", help="Print nothing but errors.")
    convert.set_defaults(usage=convert)  # usage errors of convert's own checks print its usage
    return top


def _load(args: argparse.Namespace, files: list[str], interpolate: bool = True) -> Any:
    from .errors import UsageError
    from .loader import Options, load

    opts = Options(files=files, profiles=list(args.profiles), env_files=list(args.env_files),
                   project_name=args.project_name, project_directory=args.project_directory, interpolate=interpolate)
    try:
        return load(opts)
    except UsageError as exc:
        _fail(str(exc), EXIT_USAGE)


def run_config(args: argparse.Namespace) -> None:
    from .emit import config_document, to_json, to_yaml

    project = _load(args, list(args.files), not args.no_interpolate)
    for warning in project.warnings:
        _echo(f"bridge: warning: {warning}", err=True)
    if args.quiet:
        return
    doc = config_document(project.data, escape=not args.no_interpolate)
    _echo(to_json(doc) if args.fmt == "json" else to_yaml(doc), nl=False)


def run_convert(args: argparse.Namespace, usage: argparse.ArgumentParser) -> None:
    import os
    from pathlib import Path

    from .build import build_chart
    from .limits import check_limits
    from .render import render_chart
    from .secrets import install_info
    from .versioning import check_chart_name, check_chart_version
    from .writer import compare_chart, write_chart, write_secret_values

    files = [args.compose_file, *args.files] if args.compose_file else list(args.files)
    for value, check_value, flag in ((args.chart_version, check_chart_version, "--chart-version"),
                                     (args.chart_name, check_chart_name, "--chart-name")):
        try:
            if value is not None:
                check_value(value)
        except ValueError as exc:
            usage.error(f"argument {flag}: {exc}")
    project = _load(args, files)
    chart = build_chart(project, args.chart_name, args.chart_version, args.app_version, args.embed_secrets)
    dest = Path(args.output or f"{project.name}-chart")
    shown = os.path.relpath(dest, os.getcwd()) if not dest.is_absolute() else str(dest)
    chart_dir = shown if shown.startswith(("/", "../", "./")) else "./" + shown
    overrides = Path(args.templates) if args.templates else None
    if args.check:
        rendered = render_chart(chart, overrides, chart_dir, os.getcwd())
        check_limits(chart, rendered, project)
        problems = compare_chart(rendered, dest)
        if problems:
            _echo(f"bridge: {dest} is out of date ({len(problems)} files differ):", err=True)
            for line in problems[:20]:
                _echo(f"  {line}", err=True)
            sys.exit(1)
        if not args.quiet:
            _echo(f"{dest} is up to date")
        return
    rendered = render_chart(chart, overrides, chart_dir, os.getcwd())
    check_limits(chart, rendered, project)
    write_chart(rendered, dest)
    secret_file = None
    if chart.env_secrets and not args.embed_secrets:
        secret_file = write_secret_values(chart.env_secrets, dest)
    if not args.quiet:
        for warning in chart.warnings:
            _echo(f"bridge: warning: {warning}", err=True)
        counts = ", ".join(_count(n, word) for n, word in (
            (len(chart.services), "service"), (len(chart.volumes), "volume"), (len(chart.models), "model")))
        _echo(f"wrote {dest}/ ({_count(len(rendered), 'file')}: {counts})")
        info = install_info(chart, chart_dir, os.getcwd())
        if secret_file is not None:
            _echo(f"bridge: warning: wrote {len(chart.env_secrets)} secret environment values to {secret_file} "
                  f"(beside the chart, not in it): keep it out of version control", err=True)
        if info["values"] or secret_file is not None:
            _echo("install it with (secret contents are supplied at install time, not kept in the chart):")
        else:
            _echo("install it with:")
        _echo(f"  {info['command']}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def main(argv: Sequence[str] | None = None) -> None:
    top = parser()
    args = top.parse_args(argv)
    if args.command is None:
        top.print_help()
        sys.exit(EXIT_USAGE)
    from .errors import BridgeError

    try:
        if args.command == "config":
            run_config(args)
        else:
            run_convert(args, args.usage)
    except BridgeError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def entry() -> None:
    """The `bridge` executable."""
    try:
        main()
        sys.stdout.flush()
    except BrokenPipeError:
        # `bridge ... | head`: the reader left (the chart is written). As Python's documentation on
        # SIGPIPE advises: point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
