"""The `bridge` command line.

argparse rather than click: `bridge convert` runs in every CI job and pre-commit hook, and importing
click cost 30-40 ms of a 100 ms start-up (argparse: ~3 ms). Imports are lazy so `--help` and
`--version` load nothing else.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence

from . import __version__

TYPE_CHECKING = False  # typing is imported by type checkers only (~5 ms of start-up)
if TYPE_CHECKING:
    from typing import Any


EXIT_USAGE = 2


def _echo(text: str, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + ("\n" if nl else ""))
    stream.flush()


def _fail(message: str, code: int = 1) -> None:
    _echo(f"bridge: {message}", err=True)
    sys.exit(code)


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized the way shutil.get_terminal_size() sizes it but without
    importing shutil, which argparse does for every formatter it makes (one per add_argument) and
    which cost ~8 ms of each start-up here."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


@functools.cache
def _columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


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
    top = argparse.ArgumentParser(prog="bridge", description="Convert a Docker Compose application into a Helm chart.",
                                  formatter_class=_Formatter)
    top.add_argument("--version", action="version", version=f"bridge, version {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")

    config = commands.add_parser("config", help="Print the canonical project, like `docker compose config`.",
                                 description="Print the canonical project, like `docker compose config`.",
                                 formatter_class=_Formatter)
    _load_options(config)
    config.add_argument("--format", dest="fmt", choices=["yaml", "json"], default="yaml",
                        help="Output format (default: yaml).")
    config.add_argument("--no-interpolate", action="store_true", help="Do not interpolate variables.")
    config.add_argument("-q", "--quiet", action="store_true", help="Only validate; print nothing.")

    convert = commands.add_parser("convert", help="Convert a compose project into a Helm chart.",
                                  description="Convert a compose project into a Helm chart.",
                                  formatter_class=_Formatter)
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


FORK_WRITER_SERVICES = 50


def run_convert(args: argparse.Namespace, usage: argparse.ArgumentParser) -> None:
    import os
    from pathlib import Path

    from .build import build_chart
    from .limits import check_limits
    from .render import ChartWriter, compare_chart, install_info, render_chart
    from .versioning import check_chart_name, check_chart_version

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
    # A writer process pays off once there are enough files to overlap with rendering (~8 per service).
    with ChartWriter(dest, fork=len(chart.services) >= FORK_WRITER_SERVICES) as writer:
        rendered = render_chart(chart, overrides, chart_dir, os.getcwd(), sink=writer.put)
        check_limits(chart, rendered, project)
        writer.commit()
    if not args.quiet:
        for warning in chart.warnings:
            _echo(f"bridge: warning: {warning}", err=True)
        counts = ", ".join(_count(n, word) for n, word in (
            (len(chart.services), "service"), (len(chart.volumes), "volume"), (len(chart.models), "model")))
        _echo(f"wrote {dest}/ ({_count(len(rendered), 'file')}: {counts})")
        info = install_info(chart, chart_dir, os.getcwd())
        if info["values"]:
            _echo("install it with (secret contents are supplied at install time, not kept in the chart):")
        else:
            _echo("install it with:")
        _echo(f"  {info['command']}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _values_verbatim(argv: list[str], top: argparse.ArgumentParser) -> list[str]:
    """`--chart-name -app` is the value `-app`, as click and most CLIs read it; argparse would take
    `-app` for an option. Every option that takes a value is joined to it (`--opt=value`, `-oVALUE`)."""
    takes_value = set()
    subparsers = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    for sub in (p for action in subparsers for p in action.choices.values()):
        for action in sub._actions:  # noqa: SLF001
            if action.option_strings and action.nargs is None and not isinstance(action, argparse._StoreTrueAction):  # noqa: SLF001
                takes_value.update(action.option_strings)
    out, i = [], 0
    while i < len(argv):
        item = argv[i]
        if item == "--":
            out += argv[i:]
            break
        if item in takes_value and i + 1 < len(argv):
            out.append(f"{item}={argv[i + 1]}" if item.startswith("--") else item + argv[i + 1])
            i += 2
            continue
        out.append(item)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> None:
    top = parser()
    args = top.parse_args(_values_verbatim(list(sys.argv[1:] if argv is None else argv), top))
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
    """The `bridge` executable: main() as a process of its own. The chart model is a tree of small
    objects that holds no reference cycles worth collecting, so the cyclic garbage collector only
    costs time while it is built (it scans every young container again and again); and once the
    output is flushed, the interpreter's teardown of those objects (~10 ms) is skipped."""
    import gc

    gc.disable()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            _echo(str(exc.code), err=True)
    except BrokenPipeError:  # `bridge ... | head`: the reader left; no traceback (the chart is written)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            code = code or 1
    os._exit(code)
