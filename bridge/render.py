"""Render the chart model to files with Jinja templates (`templates/`, or `--templates DIR` over them).

Jinja uses `[[ ]]`, `[% %]` and `[# #]` so Helm's `{{ }}` stays readable in the templates.
Compose-provided strings never reach Helm's template engine as code: they go into values.yaml, into
files/ (read with .Files.Get), or into templates as quoted Go string literals (`lit` filter).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from .builders.volumes import is_text
from .encode import go_literal, go_string, lit, to_yaml, yaml_scalar
from .errors import BridgeError
from .model import Chart, ServiceModel
from .naming import label_value
from .schema import values_schema
from .secrets import install_info
from .validate import cache_dir

# Template file -> output path. `{svc}`, `{vol}`, ... make one file per object.
GLOBAL_TEMPLATES = {
    "Chart.yaml.j2": "Chart.yaml",
    "values.yaml.j2": "values.yaml",
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
    "scripts-configmap.yaml.j2": "templates/scripts-configmap.yaml",
    "env-secret.yaml.j2": "templates/env-secret.yaml",
    "serviceaccount.yaml.j2": "templates/serviceaccount.yaml",
    "test-services.yaml.j2": "templates/tests/test-services.yaml",
}
# Files copied into every chart as they are (templates/files/ -> files/scripts/).
SCRIPTS = ("wait-ready.sh", "wait-completed.sh", "wait-models.sh", "pull-models.sh", "test-services.sh", "seed-volume.sh")
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


FILTERS: dict[str, Callable[..., Any]] = {
    "lit": lit,
    "golit": go_literal,
    "gostr": go_string,
    "toyaml": to_yaml,
    "labelvalue": label_value,
    "yamlscalar": yaml_scalar,
}

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"


def builtin_templates() -> Path:
    """`templates/` at the repository root, installed beside the package as `bridge/templates`."""
    if BUILTIN_TEMPLATES.is_dir():
        return BUILTIN_TEMPLATES
    return Path(__file__).resolve().parent.parent / "templates"


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's own cache of compiled templates (keyed by each template's source), kept in the user's
    cache directory: compiling the chart's templates takes longer than rendering a small chart."""
    folder = cache_dir() / f"jinja-{jinja2.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


class Templates:
    """The chart's Jinja templates: the user's `--templates` folder first, then the built-in ones."""

    def __init__(self, overrides: Path | None = None) -> None:
        folders = [builtin_templates()]
        if overrides is not None:
            if not overrides.is_dir():
                raise BridgeError(f"--templates: {overrides} is not a directory")
            folders.insert(0, overrides)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in folders]),
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
            bytecode_cache=_bytecode_cache(),
        )
        self.env.filters.update(FILTERS)

    def render(self, template: str, ctx: dict[str, Any]) -> str:
        try:
            return self.env.get_template(template).render(ctx)
        except jinja2.TemplateError as exc:
            syntax = isinstance(exc, jinja2.TemplateSyntaxError)
            where = f"{exc.filename}:{exc.lineno}" if syntax else template
            raise BridgeError(f"template error in {where}: {exc.message or exc}") from None


def chart_files_of(chart: Chart, svc: ServiceModel) -> list[str]:
    """The chart's ConfigMaps and Secrets (their template paths) a service's pod mounts."""
    out = []
    rendered = {(o["key"], kind) for kind, objects in (("secret", chart.secrets), ("configMap", chart.configs))
                for o in objects if not o["external"]}
    for container in svc.containers:
        if container.bind_configs:
            out.append(SERVICE_TEMPLATES["bind-configmap.yaml.j2"].format(svc=container.label))
        for m in container.volumes:
            if m["type"] == "secret" and (m["source"], "secret") in rendered:
                out.append(SECRET_TEMPLATE[1].format(name=m["subPath"]))
            elif m["type"] == "configMap" and (m["source"], "configMap") in rendered:
                out.append(CONFIG_TEMPLATE[1].format(name=m["subPath"]))
        if container.values.get("secretEnv"):
            out.append(GLOBAL_TEMPLATES["env-secret.yaml.j2"])
    seeded = any(m["type"] == "persistentVolumeClaim" and not m.get("readOnly") for m in svc.pod_volumes)
    if svc.pod_waits or svc.pod_models or seeded:
        out.append(GLOBAL_TEMPLATES["scripts-configmap.yaml.j2"])
    if svc.pod_models:
        out.append(GLOBAL_TEMPLATES["model-runner-pull-configmap.yaml.j2"])
    return [path.removeprefix("templates/") for path in dict.fromkeys(out)]


def render_chart(chart: Chart, templates: Path | None = None, chart_dir: str | None = None,
                 base: str | None = None) -> dict[str, bytes]:
    """Every file of the chart, path -> content. `chart_dir` and `base` only shape the install command
    the chart's README shows (see install_info)."""
    env = Templates(templates)
    ctx: dict[str, Any] = {"chart": chart, "values": chart.values, "install": install_info(chart, chart_dir, base),
                           "chart_files_of": lambda svc: chart_files_of(chart, svc)}
    out: dict[str, bytes] = {}

    def emit(template: str, path: str, **extra: Any) -> None:
        text = env.render(template, {**ctx, **extra})
        if path in out:
            raise BridgeError(f"two objects would be written to {path}")
        if text.strip():
            out[path] = text.encode("utf-8")

    for template, path in GLOBAL_TEMPLATES.items():
        emit(template, path)
    out["values.schema.json"] = (json.dumps(values_schema(chart), indent=2, ensure_ascii=False) + "\n").encode()
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
    for script in SCRIPTS:
        out[f"files/scripts/{script}"] = (builtin_templates() / "files" / script).read_bytes()
    out.update(chart.files)
    return dict(sorted(out.items()))
