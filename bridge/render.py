"""Render the chart model to files with Jinja templates, and write them atomically.

Jinja uses `[[ ]]`, `[% %]` and `[# #]` so Helm's `{{ }}` stays readable in the templates.
Compose-provided strings never reach Helm's template engine as code: they go into values.yaml, into
files/ (read with .Files.Get), or into templates as quoted Go string literals (`lit` filter).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from .build import Chart
from .errors import BridgeError
from .mounts import is_text
from .naming import label_value

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


def go_literal(text: str) -> str:
    """A Go string literal for `text` (safe inside a Helm action)."""
    out = ['"']
    for ch in str(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\uFFFD")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def lit(text: Any) -> str:
    """A compose string placed in a template as data: Helm prints it JSON-quoted, never evaluates it."""
    return "{{ " + go_literal(str(text)) + " | toJson }}"


def yaml_scalar(value: Any) -> str:
    """A YAML scalar that reads back as exactly `value` (JSON is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


# Words YAML 1.1 (go-yaml v2, which Helm reads values with) takes for booleans or null, in any case.
_YAML11_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def to_yaml(value: Any, indent: int = 0, comments: dict | None = None, path: tuple = ()) -> str:
    """Block YAML with optional `# comment` lines before keys; stable, sorted as given."""
    pad = " " * indent
    comments = comments or {}
    lines: list[str] = []
    if isinstance(value, dict):
        if not value:
            return pad + "{}"
        for k, v in value.items():
            note = comments.get(path + (k,))
            if note:
                if path == () and lines:
                    lines.append("")
                lines.extend(pad + "# " + line if line else pad + "#" for line in note.split("\n"))
            plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", str(k)) and str(k).lower() not in _YAML11_WORDS
            key = str(k) if plain else yaml_scalar(k)
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(v, indent + 2, comments, path + (k,)))
            else:
                lines.append(f"{pad}{key}: {_flow(v)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return pad + "[]"
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = to_yaml(item, indent + 2, comments, path + ("*",))
                lines.append(pad + "- " + inner[indent + 2:])
            else:
                lines.append(f"{pad}- {_flow(item)}")
        return "\n".join(lines)
    return pad + _flow(value)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{}" if not value else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[]" if not value else json.dumps(value, ensure_ascii=False)
    return yaml_scalar(value)


def template_env(overrides: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if overrides is not None:
        if not overrides.is_dir():
            raise BridgeError(f"--templates: {overrides} is not a directory")
        loaders.append(jinja2.FileSystemLoader(str(overrides)))
    loaders.append(jinja2.FileSystemLoader(str(builtin_templates())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        bytecode_cache=_bytecode_cache(),
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
    )
    env.filters["lit"] = lit
    env.filters["golit"] = go_literal
    env.filters["gostr"] = lambda text: "{{ " + go_literal(str(text)) + " }}"
    env.filters["toyaml"] = to_yaml
    env.filters["tojson_sorted"] = lambda v, indent=2: json.dumps(v, indent=indent, ensure_ascii=False)
    env.filters["labelvalue"] = label_value
    env.filters["yamlscalar"] = yaml_scalar
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (keyed by template source), when the cache is writable."""
    from .validate import cache_dir

    folder = cache_dir() / f"jinja-{jinja2.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def builtin_templates() -> Path:
    """`templates/` at the repository root, installed beside the package as `bridge/templates`."""
    packaged = Path(str(resources.files("bridge"))) / "templates"
    if packaged.is_dir():
        return packaged
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
                 base: str | None = None) -> dict[str, bytes]:
    """Every file of the chart, path -> content. `chart_dir` and `base` only shape the install
    command the chart's README shows (see install_info)."""
    from .schema import values_schema

    env = template_env(templates)
    ctx: dict[str, Any] = {"chart": chart, "values": chart.values, "schema": values_schema(chart),
                           "install": install_info(chart, chart_dir, base)}
    out: dict[str, bytes] = {}

    def emit(template: str, path: str, **extra: Any) -> None:
        try:
            text = env.get_template(template).render(**ctx, **extra)
        except jinja2.TemplateError as exc:
            where = f"{exc.filename}:{exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else template
            raise BridgeError(f"template error in {where}: {exc.message or exc}") from None
        if path in out:
            raise BridgeError(f"two objects would be written to {path}")
        if text.strip():
            out[path] = text.encode("utf-8")

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
    return out


def write_chart(files: dict[str, bytes], dest: Path) -> None:
    """Write into a temporary sibling directory, then swap it into place: never half a chart."""
    dest = dest.resolve()
    if dest.exists() and not dest.is_dir():
        raise BridgeError(f"output {dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / "Chart.yaml").is_file():
        raise BridgeError(f"output directory {dest} is not empty and holds no chart; refusing to overwrite it")
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=parent))
    try:
        made: set[str] = set()
        for rel, content in sorted(files.items()):
            clean = os.path.normpath(rel)
            if os.path.isabs(clean) or clean.startswith(".."):
                raise BridgeError(f"refusing to write outside the chart: {rel}")
            folder = os.path.dirname(clean)
            if folder and folder not in made:
                (tmp / folder).mkdir(parents=True, exist_ok=True)
                made.add(folder)
            with open(tmp / clean, "wb") as fh:
                fh.write(content)
        old = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=parent))
            os.rmdir(old)
            dest.rename(old)
        tmp.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
