"""Render the chart model to files with Jinja templates, and write them atomically.

Jinja uses `[[ ]]`, `[% %]` and `[# #]` so Helm's `{{ }}` stays readable in the templates.
Compose-provided strings never reach Helm's template engine as code: they go into values.yaml, into
files/ (read with .Files.Get), or into templates as quoted Go string literals (`lit` filter).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
from collections.abc import Callable
from pathlib import Path

from .build import Chart
from .errors import BridgeError
from .mounts import is_text
from .naming import label_value
from .template_runtime import FILTERS as BUILTIN_FILTERS
from .template_runtime import UndefinedError

TYPE_CHECKING = False  # typing is imported by type checkers only (~5 ms of start-up)
if TYPE_CHECKING:
    from typing import Any


# Template file -> output path. `{svc}`, `{vol}`, ... make one file per object.
GLOBAL_TEMPLATES = {
    "Chart.yaml.j2": "Chart.yaml",
    "values.yaml.j2": "values.yaml",
    "values.schema.json.j2": "values.schema.json",
    "helmignore.j2": ".helmignore",
    "README.md.j2": "README.md",
    "helpers.tpl.j2": "templates/_helpers.tpl",
    "NOTES.txt.j2": "templates/NOTES.txt",
    "model-runner-deployment.yaml.j2": "templates/model-runner-deployment.yaml",
    "model-runner-service.yaml.j2": "templates/model-runner-service.yaml",
    "model-runner-pvc.yaml.j2": "templates/model-runner-pvc.yaml",
    "model-runner-networkpolicy.yaml.j2": "templates/model-runner-networkpolicy.yaml",
    "model-runner-pdb.yaml.j2": "templates/model-runner-pdb.yaml",
    "model-runner-hpa.yaml.j2": "templates/model-runner-hpa.yaml",
    "model-runner-pull-configmap.yaml.j2": "templates/model-runner-pull-configmap.yaml",
    "model-runner-pull-job.yaml.j2": "templates/model-runner-pull-job.yaml",
    "job-waiter-rbac.yaml.j2": "templates/job-waiter-rbac.yaml",
}
SERVICE_TEMPLATES = {
    "workload.yaml.j2": "templates/{svc}-{kind}.yaml",
    "service.yaml.j2": "templates/{svc}-service.yaml",
    "service-alias.yaml.j2": "templates/{svc}-alias.yaml",
    "headless-service.yaml.j2": "templates/{svc}-headless-service.yaml",
    "published-service.yaml.j2": "templates/{svc}-published-service.yaml",
    "ingress.yaml.j2": "templates/{svc}-ingress.yaml",
    "bind-configmap.yaml.j2": "templates/{svc}-files-configmap.yaml",
    "published-networkpolicy.yaml.j2": "templates/{svc}-published-networkpolicy.yaml",
}
VOLUME_TEMPLATE = ("pvc.yaml.j2", "templates/volume-{vol}-pvc.yaml")
SECRET_TEMPLATE = ("secret.yaml.j2", "templates/secret-{name}.yaml")
CONFIG_TEMPLATE = ("configmap.yaml.j2", "templates/config-{name}-configmap.yaml")
NETWORK_TEMPLATE = ("networkpolicy.yaml.j2", "templates/network-{name}-networkpolicy.yaml")


# Characters go_literal must escape; everything else is copied as is (the fast path for most text).
_GO_SPECIAL = re.compile("[\\\\\"\x00-\x1f\x7f\ud800-\udfff]")
_GO_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _go_escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _GO_ESCAPES:
        return _GO_ESCAPES[ch]
    code = ord(ch)
    return "\\uFFFD" if 0xD800 <= code <= 0xDFFF else f"\\x{code:02x}"


def go_literal(text: str) -> str:
    """A Go string literal for `text` (safe inside a Helm action)."""
    return '"' + _GO_SPECIAL.sub(_go_escape, str(text)) + '"'


def lit(text: Any) -> str:
    """A compose string placed in a template as data: Helm prints it JSON-quoted, never evaluates it."""
    return "{{ " + go_literal(str(text)) + " | toJson }}"


# What json.dumps(ensure_ascii=False) escapes in a string; and the characters a YAML document may not
# hold literally (DEL, C1 controls, U+FFFE/U+FFFF) or reads as line breaks (NEL, LS, PS in YAML 1.1,
# which go-yaml and PyYAML follow). A string without any is quoted as is.
_JSON_SPECIAL = re.compile('[\\x00-\\x1f"\\\\]')
_NOT_YAML_PRINTABLE = "[\\x7f-\\x9f\\u2028\\u2029\\ufffe\\uffff]"  # compiled when first needed (rare)
_YAML_SPECIAL = re.compile('[\\x00-\\x1f"\\\\\\x7f-\\x9f\\u2028\\u2029\\ufffe\\uffff]')


def _json_string(text: str) -> str:
    """json.dumps(text, ensure_ascii=False), without the encoder's set-up for the usual plain text."""
    return '"' + text + '"' if not _JSON_SPECIAL.search(text) else json.dumps(text, ensure_ascii=False)


def yaml_scalar(value: Any) -> str:
    """A YAML scalar that reads back as exactly `value` (JSON is valid YAML; characters YAML may not
    hold literally are written as \\u escapes, which JSON and YAML read alike)."""
    if type(value) is str and not _YAML_SPECIAL.search(value):
        return '"' + value + '"'  # what json.dumps returns, without its encoder set-up per call
    text = json.dumps(value, ensure_ascii=False)
    if type(value) is str:
        return re.sub(_NOT_YAML_PRINTABLE, lambda m: f"\\u{ord(m.group()):04x}", text)
    if type(value) is float and "e" in text and "." not in text:
        return text.replace("e", ".0e")  # YAML 1.1 floats need a dot: "1e-05" would read as a string
    return text


# Words YAML 1.1 (go-yaml v2, which Helm reads values with) takes for booleans or null, in any case.
_YAML11_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _yaml_key(k: Any) -> str:
    text = str(k)
    if _PLAIN_KEY.fullmatch(text) and text.lower() not in _YAML11_WORDS:
        return text
    return yaml_scalar(k)


def _atom(value: Any) -> str:
    """yaml_scalar (and json.dumps) of a scalar, with the common types done directly: json.dumps
    with ensure_ascii=False makes an encoder per call, tens of thousands of times in a large chart."""
    kind = type(value)
    if kind is str:
        return '"' + value + '"' if not _YAML_SPECIAL.search(value) else yaml_scalar(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    return yaml_scalar(value)


def to_yaml(value: Any, indent: int = 0, comments: dict | None = None, path: tuple = ()) -> str:
    """Block YAML with optional `# comment` lines before keys (`comments` maps key paths, `"*"` for
    list items, to text); stable, in the order given."""
    notes = comments or {}
    # The paths some comment lies below: everywhere else keys are written without looking any up.
    live = {key[:i] for key in notes for i in range(len(key))}
    lines: list[str] = []
    add = lines.append
    keys: dict[str, str] = {}  # a string key's YAML text: keys repeat in every service
    special = _YAML_SPECIAL.search

    def key_text(k: Any) -> str:
        if type(k) is not str:
            return _yaml_key(k)
        text = keys.get(k)
        if text is None:
            text = keys[k] = _yaml_key(k)
        return text

    def block(value: Any, indent: int, path: tuple) -> None:
        pad = " " * indent
        if isinstance(value, dict):
            if not value:
                add(pad + "{}")
                return
            commented = path in live
            for k, v in value.items():
                if commented:
                    note = notes.get(path + (k,))
                    if note:
                        if path == () and lines:
                            add("")
                        lines.extend(pad + "# " + line if line else pad + "#" for line in note.split("\n"))
                if type(v) is str and not special(v):  # most values: _atom's first case, inline
                    add(pad + key_text(k) + ': "' + v + '"')
                elif v and isinstance(v, (dict, list)):
                    add(pad + key_text(k) + ":")
                    block(v, indent + 2, path + (k,) if commented else path)
                else:
                    add(pad + key_text(k) + ": " + _flow(v))
            return
        if isinstance(value, list):
            if not value:
                add(pad + "[]")
                return
            inner = path + ("*",) if path in live else path
            for item in value:
                if item and isinstance(item, (dict, list)):
                    start = len(lines)
                    block(item, indent + 2, inner)
                    lines[start] = pad + "- " + lines[start][indent + 2:]
                else:
                    add(pad + "- " + _flow(item))
            return
        add(pad + _flow(value))

    block(value, indent, path)
    return "\n".join(lines)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{}" if not value else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[]" if not value else json.dumps(value, ensure_ascii=False)
    return _atom(value)


def json_indented(value: Any, indent: int = 2) -> str:
    """Exactly `json.dumps(value, indent=indent, ensure_ascii=False)`, with each object that occurs
    several times (the values schema repeats one volume schema per volume) encoded only once.
    Hand-written because Python's json module encodes with indentation in pure Python, object by
    object: at 1000 volumes that was a third of a second."""
    done: dict[int, str] = {}

    def encode(item: Any) -> str:
        if isinstance(item, dict) and item:
            text = done.get(id(item))
            if text is None:
                pad = "\n" + " " * indent
                body = (",").join(pad + _json_string(k if isinstance(k, str) else json.dumps(k)) + ": " + encode(v).replace("\n", pad) for k, v in item.items())
                text = done[id(item)] = "{" + body + "\n}"
            return text
        if isinstance(item, list) and item:
            pad = "\n" + " " * indent
            return "[" + ",".join(pad + encode(v).replace("\n", pad) for v in item) + "\n]"
        if type(item) is str:
            return _json_string(item)
        return _atom(item) if type(item) in (bool, int) or item is None else json.dumps(item, ensure_ascii=False)

    return encode(value)


FILTERS: dict[str, Callable[..., Any]] = {
    "lit": lit,
    "golit": go_literal,
    "gostr": lambda text: "{{ " + go_literal(str(text)) + " }}",
    "toyaml": to_yaml,
    "tojson_sorted": json_indented,
    "labelvalue": label_value,
    "yamlscalar": yaml_scalar,
}


def entry_templates() -> list[str]:
    """Every template render_chart renders by name (the others are included by these)."""
    return [*GLOBAL_TEMPLATES, *SERVICE_TEMPLATES,
            *(t for t, _ in (VOLUME_TEMPLATE, SECRET_TEMPLATE, CONFIG_TEMPLATE, NETWORK_TEMPLATE))]


class JinjaTemplates:
    """Templates rendered by Jinja: the user's --templates, or built-in ones edited since
    `python -m bridge.precompile` compiled them."""

    def __init__(self, overrides: Path | None) -> None:
        import jinja2

        self._jinja = jinja2
        loaders: list[jinja2.BaseLoader] = []
        if overrides is not None:
            if not overrides.is_dir():
                raise BridgeError(f"--templates: {overrides} is not a directory")
            loaders.append(jinja2.FileSystemLoader(str(overrides)))
        loaders.append(jinja2.FileSystemLoader(str(builtin_templates())))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            bytecode_cache=_bytecode_cache(jinja2),
            block_start_string="[%",
            block_end_string="%]",
            variable_start_string="[[",
            variable_end_string="]]",
            comment_start_string="[#",
            comment_end_string="#]",
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            auto_reload=False,  # templates do not change during a run: no stat() per render
        )
        self.env.filters.update(FILTERS)

    def render(self, template: str, ctx: dict[str, Any]) -> str:
        try:
            return self.env.get_template(template).render(ctx)
        except self._jinja.TemplateError as exc:
            syntax = isinstance(exc, self._jinja.TemplateSyntaxError)
            where = f"{exc.filename}:{exc.lineno}" if syntax else template
            raise BridgeError(f"template error in {where}: {exc.message or exc}") from None


class CompiledTemplates:
    """The built-in templates as compiled by bridge.precompile (no Jinja import at run time)."""

    def __init__(self, functions: dict[str, Callable[..., str]]) -> None:
        self.functions = functions
        self.filters = {**BUILTIN_FILTERS, **FILTERS}

    def render(self, template: str, ctx: dict[str, Any]) -> str:
        try:
            return self.functions[template](ctx, self.filters)
        except UndefinedError as exc:
            raise BridgeError(f"template error in {template}: {exc.message}") from None


def compiled_templates() -> CompiledTemplates | None:
    """The compiled built-in templates, or None when `_templates.py` is missing or, in a checkout,
    was compiled from other template sources than templates/ holds (a CRC-32 of each file tells).
    An installed package's templates and `_templates.py` come from one build (tests/test_precompile.py
    fails a checkout where they differ), so there the 31 files are not read again on every run."""
    import zlib

    try:
        from . import _templates
    except ImportError:
        return None
    if not set(entry_templates()) <= set(_templates.TEMPLATES):
        return None
    folder = builtin_templates()
    if folder == _PACKAGED_TEMPLATES:
        return CompiledTemplates(_templates.TEMPLATES)
    try:
        present = {p.name for p in folder.iterdir() if p.name.endswith(".j2")}
        if present != set(_templates.SOURCES) or any(
                zlib.crc32((folder / name).read_bytes()) != crc for name, crc in _templates.SOURCES.items()):
            return None
    except OSError:
        return None
    return CompiledTemplates(_templates.TEMPLATES)


def template_env(overrides: Path | None) -> CompiledTemplates | JinjaTemplates:
    """How templates are rendered: compiled when they are the built-in ones, unchanged; else Jinja."""
    if overrides is None:
        found = compiled_templates()
        if found is not None:
            return found
    return JinjaTemplates(overrides)


def _bytecode_cache(jinja2: Any) -> Any:
    """Compiled templates kept between runs (keyed by template source), when the cache is writable."""
    from .validate import cache_dir

    folder = cache_dir() / f"jinja-{jinja2.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


_PACKAGED_TEMPLATES = Path(__file__).resolve().parent / "templates"


def builtin_templates() -> Path:
    """`templates/` at the repository root, installed beside the package as `bridge/templates`."""
    if _PACKAGED_TEMPLATES.is_dir():
        return _PACKAGED_TEMPLATES
    return Path(__file__).resolve().parent.parent / "templates"


def install_info(chart: Chart, chart_dir: str | None = None, base: str | None = None) -> dict[str, Any]:
    """The `helm install` command for the chart at `chart_dir`, with secret paths relative to `base`
    (default: the chart written as ./<project>-chart, paths relative to the compose project)."""
    from .naming import dns_label
    from .secrets import install_command

    chart_dir = chart_dir or f"./{chart.project}-chart"
    base = base or chart.working_dir
    values = chart.install_values
    release = dns_label(chart.project, 53)
    return {"command": install_command(release, chart_dir, values, base), "values": values, "base": base}


def render_chart(chart: Chart, templates: Path | None = None, chart_dir: str | None = None,
                 base: str | None = None, sink: Callable[[str, bytes], None] | None = None) -> dict[str, bytes]:
    """Every file of the chart, path -> content; each is also handed to `sink` (a ChartWriter's
    `put`) as soon as it is rendered. `chart_dir` and `base` only shape the install command the
    chart's README shows (see install_info)."""
    from .schema import values_schema

    env = template_env(templates)
    ctx: dict[str, Any] = {"chart": chart, "values": chart.values, "schema": values_schema(chart),
                           "install": install_info(chart, chart_dir, base)}
    out: dict[str, bytes] = {}

    def emit(template: str, path: str, **extra: Any) -> None:
        text = env.render(template, {**ctx, **extra} if extra else ctx)
        if path in out:
            raise BridgeError(f"two objects would be written to {path}")
        if text.strip():
            out[path] = data = text.encode("utf-8")
            if sink is not None:
                sink(path, data)

    for template, path in GLOBAL_TEMPLATES.items():
        emit(template, path)
    for svc in chart.services:
        for template, pattern in SERVICE_TEMPLATES.items():
            if svc.sidecar_of and template == "workload.yaml.j2":
                continue  # a container in its network_mode service's pod
            emit(template, pattern.format(svc=svc.label, kind=svc.kind.lower()), svc=svc)
    for vol in chart.volumes:
        emit(VOLUME_TEMPLATE[0], VOLUME_TEMPLATE[1].format(vol=vol["label"]), vol=vol)
    for secret in chart.secrets:
        if not secret["external"]:
            emit(SECRET_TEMPLATE[0], SECRET_TEMPLATE[1].format(name=secret["label"]), item=secret)
    for config in chart.configs:
        if not config["external"]:
            emit(CONFIG_TEMPLATE[0], CONFIG_TEMPLATE[1].format(name=config["label"]), item=config,
                 text=is_text(chart.files.get(config["file"], b"")))
    for net in chart.networks:
        emit(NETWORK_TEMPLATE[0], NETWORK_TEMPLATE[1].format(name=net["label"]), net=net)
    for path, content in chart.files.items():
        out[path] = content
        if sink is not None:
            sink(path, content)
    return out


_RELATIVE_OPEN = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _private_dir(parent: Path, prefix: str) -> Path:
    """A new directory `parent/<prefix><pid>.<n>` of mode 0700, like tempfile.mkdtemp (whose module
    imports random, shutil and hashlib: ~10 ms of a small conversion); mkdir never follows a link."""
    for n in range(10000):
        path = parent / f"{prefix}{os.getpid()}.{n}"
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise BridgeError(f"cannot create a temporary directory in {parent}")


class ChartWriter:
    """Writes a chart into a temporary sibling of `dest`, then swaps it into place: never half a chart.

    Creating a file is kernel time (0.1-0.3 ms each on this project's overlay disks: a second for a
    1000-service chart), so where the platform can fork, a child process creates the files `put`
    sends it over a pipe while this process renders the next ones, on the other core. A thread
    cannot do that: it needs the GIL back after every system call and waits for the rendering
    thread's switch interval each time (measured: slower than writing in turn). Use as a context
    manager and call `commit()` at the end; leaving without it removes the temporary directory."""

    _HEADER = struct.Struct("<II")

    def __init__(self, dest: Path, fork: bool = True) -> None:
        dest = dest.resolve()
        if dest.exists() and not dest.is_dir():
            raise BridgeError(f"output {dest} exists and is not a directory")
        if dest.is_dir() and any(dest.iterdir()) and not (dest / "Chart.yaml").is_file():
            raise BridgeError(f"output directory {dest} is not empty and holds no chart; refusing to overwrite it")
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.dest = dest
        self.tmp = _private_dir(dest.parent, f".{dest.name}.")
        self._made: set[str] = set()
        self._dir_fd: int | None = None
        self._pid = 0
        self._pipe: Any = None
        self._failed = False  # the writer process reported an error (its exit status)
        if fork and hasattr(os, "fork"):
            self._start_child()

    def _start_child(self) -> None:
        import fcntl  # POSIX, as fork is

        read_end, write_end = os.pipe()
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: 1 MiB in flight (not 64 KiB), far fewer waits
            with contextlib.suppress(OSError):
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)
        pid = os.fork()
        if pid == 0:  # the child: write what arrives, report through the exit status
            os.close(write_end)
            status = 0
            try:
                with os.fdopen(read_end, "rb", buffering=1 << 20) as pipe:
                    while header := pipe.read(self._HEADER.size):
                        name_len, size = self._HEADER.unpack(header)
                        self._write(pipe.read(name_len).decode("utf-8", "surrogatepass"), pipe.read(size))
            except BaseException as exc:  # noqa: BLE001 - anything here must end the child, not run on
                with contextlib.suppress(BaseException):
                    os.write(2, f"bridge: cannot write the chart: {exc}\n".encode())
                status = 1
            os._exit(status)
        os.close(read_end)
        self._pid = pid
        self._pipe = os.fdopen(write_end, "wb", buffering=1 << 20)

    def _write(self, clean: str, content: bytes) -> None:
        folder = os.path.dirname(clean)
        if folder and folder not in self._made:
            os.makedirs(self.tmp / folder, exist_ok=True)
            self._made.add(folder)
        # os-level calls relative to the open temporary directory: no file object, no path walk from
        # the root for each of thousands of files.
        if _RELATIVE_OPEN:
            if self._dir_fd is None:
                self._dir_fd = os.open(self.tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fd = os.open(clean, _CREATE_FLAGS, 0o666, dir_fd=self._dir_fd)
        else:
            fd = os.open(self.tmp / clean, _CREATE_FLAGS, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def put(self, rel: str, content: bytes) -> None:
        clean = os.path.normpath(rel)
        if os.path.isabs(clean) or clean.startswith(".."):
            raise BridgeError(f"refusing to write outside the chart: {rel}")
        if self._pipe is None:
            try:
                self._write(clean, content)
            except OSError as exc:
                raise BridgeError(f"cannot write the chart: {exc}") from None
            return
        name = clean.encode("utf-8", "surrogatepass")
        try:
            self._pipe.write(self._HEADER.pack(len(name), len(content)) + name)
            self._pipe.write(content)
        except BrokenPipeError:
            self._finish()  # the child failed and said why; its status makes commit() fail

    def _finish(self) -> None:
        """Wait for the writer process, if any, and note whether it failed."""
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None
        if not self._pid:
            return
        with contextlib.suppress(BrokenPipeError):
            self._pipe.close()
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        self._failed = os.waitstatus_to_exitcode(status) != 0

    def commit(self) -> None:
        self._finish()
        if self._failed:
            raise BridgeError(f"cannot write the chart into {self.tmp}")
        dest, old = self.dest, None
        if dest.exists():
            old = _private_dir(dest.parent, f".{dest.name}.old.")
            os.rmdir(old)
            dest.rename(old)
        self.tmp.rename(dest)
        if old is not None:
            import shutil

            shutil.rmtree(old, ignore_errors=True)

    def __enter__(self) -> ChartWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self._finish()
        if exc_type is not None:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)


def write_chart(files: dict[str, bytes], dest: Path) -> None:
    """Write rendered files as the chart at `dest` (see ChartWriter)."""
    with ChartWriter(dest, fork=False) as writer:
        for rel, content in sorted(files.items()):
            writer.put(rel, content)
        writer.commit()


def compare_chart(files: dict[str, bytes], dest: Path) -> list[str]:
    """Differences between generated files and what is in `dest` (for --check)."""
    problems = []
    existing: dict[str, bytes] = {}
    if dest.is_dir():
        for path in dest.rglob("*"):
            if path.is_file():
                existing[path.relative_to(dest).as_posix()] = path.read_bytes()
    for rel in sorted(set(files) | set(existing)):
        if rel not in existing:
            problems.append(f"missing: {rel}")
        elif rel not in files:
            problems.append(f"extra: {rel}")
        elif files[rel] != existing[rel]:
            problems.append(f"changed: {rel}")
    return problems
