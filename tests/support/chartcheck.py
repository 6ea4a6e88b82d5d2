"""Check generated charts with the real tools: Helm (lint, template) and Kubernetes schemas."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

K8S_VERSIONS = ("1.30", "1.37")
ROOT = Path(__file__).resolve().parents[2]


def helm(version: int) -> str:
    name = f"helm{version}"
    local = ROOT / ".tools" / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: run `make tools`")
    return found


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HELM_CACHE_HOME", "/tmp/helm-cache")
    env.setdefault("HELM_CONFIG_HOME", "/tmp/helm-config")
    env.setdefault("HELM_DATA_HOME", "/tmp/helm-data")
    return env


def _sets(values: dict[str, str] | None) -> list[str]:
    args: list[str] = []
    for key, value in (values or {}).items():
        args += ["--set", f"{key}={value}"]
    return args


_REQUIRED_SECRET = re.compile(r'index \.Values\.secrets ("(?:[^"\\]|\\.)*")\s*}}\n{{- if not \$s\.existingSecret }}\n{{- \$data := required ')


def secret_args(chart: Path) -> list[str]:
    """Test content for every secret the chart requires at install time (`--set-literal ...=...`), as
    an operator supplies it; charts whose secrets are embedded or external need none."""
    from bridge.secrets import secret_values_path, set_key

    args: list[str] = []
    env_values = secret_values_path(chart.resolve())
    if env_values.is_file():
        args += ["-f", str(env_values)]
    for template in sorted((chart / "templates").glob("secret-*.yaml")):
        match = _REQUIRED_SECRET.search(template.read_text())
        if match:
            name = json.loads(match.group(1))
            args += ["--set-literal", f"{set_key('secrets', name, 'value')}=test-secret-{name}"]
    return args


def lint(charts: list[Path], version: int = 4, values: dict[str, str] | None = None, secrets: bool = True) -> None:
    """`helm lint --strict` on many charts, one call per set of required secrets (usually one call);
    raise with Helm's output on failure."""
    groups: dict[tuple[str, ...], list[Path]] = {}
    for chart in charts:
        groups.setdefault(tuple(secret_args(chart)) if secrets else (), []).append(chart)
    for extra, group in groups.items():
        proc = subprocess.run(
            [helm(version), "lint", "--strict", *map(str, group), *_sets(values), *extra],
            capture_output=True, text=True, env=_env(), timeout=600,
        )
        if proc.returncode != 0:
            raise AssertionError(f"helm{version} lint failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")


def template(chart: Path, version: int = 4, values: dict[str, str] | None = None, release: str = "rel",
             namespace: str = "ns1", values_file: Path | None = None, secrets: bool = True,
             args: list[str] | None = None) -> list[dict]:
    """`helm template` (with test content for required secrets unless `secrets=False`)."""
    extra = ["-f", str(values_file)] if values_file else []
    extra += (secret_args(chart) if secrets else []) + list(args or [])
    proc = subprocess.run(
        [helm(version), "template", release, str(chart), "--namespace", namespace, *extra, *_sets(values)],
        capture_output=True, text=True, env=_env(), timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(f"helm{version} template failed for {chart}:\n{proc.stderr[-3000:]}")
    return [d for d in yaml.load_all(proc.stdout, Loader=ManifestLoader) if d]  # noqa: S506 - a SafeLoader


class ManifestLoader(yaml.SafeLoader):
    """PyYAML reads a plain `=` as YAML 1.1's `!!value` type, which it cannot construct; go-yaml (which
    Helm and Kubernetes read manifests with) reads it as the string "=" (an annotation `a: =`)."""


ManifestLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@functools.cache
def _patched() -> Any:
    import kubernetes_validate.utils as kv

    kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)
    return kv


def validate(docs: list[dict], versions: tuple[str, ...] = K8S_VERSIONS) -> None:
    """Every object validates strictly against each Kubernetes version; no kind/name twice."""
    kv = _patched()
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        ident = (doc.get("kind"), (doc.get("metadata") or {}).get("name"))
        assert ident not in seen, f"two objects are {ident}"
        seen.add(ident)
        for version in versions:
            try:
                kv.validate(doc, version, strict=True)
            except kv.ValidationError as exc:
                raise AssertionError(f"{ident} invalid for Kubernetes {version}: {exc.caught.message} "
                                     f"at {list(exc.caught.absolute_path)}") from None
            except kv.SchemaNotFoundError as exc:
                raise AssertionError(f"{ident}: no schema for Kubernetes {version}: {exc}") from None


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list[dict], kind: str, name_suffix: str) -> dict:
    found = [d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name_suffix]
    if not found:
        found = [d for d in docs if d.get("kind") == kind and d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"expected one {kind} *{name_suffix}, got {[d['metadata']['name'] for d in by_kind(docs, kind)]}"
    return found[0]


def container_env(workload: dict, container: str | None = None) -> dict[str, str]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    c = containers[0] if container is None else next(x for x in containers if x["name"] == container)
    return {e["name"]: e.get("value") for e in c.get("env") or []}


def install_dry_run(chart: Path, values: dict[str, str] | None = None, release: str = "rel") -> str:
    """`helm install --dry-run=client` (Helm 4): the full install path without a cluster."""
    proc = subprocess.run(
        [helm(4), "install", release, str(chart), "--dry-run=client", "--namespace", "ns1", *_sets(values),
         *secret_args(chart)],
        capture_output=True, text=True, env=_env(), timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(f"helm install --dry-run=client failed for {chart}:\n{proc.stderr[-3000:]}")
    return proc.stdout


def script_of(docs: list[dict], pod_spec: dict, container: dict) -> str:
    """The shell script a container runs as `sh /path/script.sh`, read the way the kubelet finds it: the
    container's volumeMount over that path, the pod volume it names, the ConfigMap and its key."""
    command = container["command"]
    assert command[0] == "/bin/sh" and len(command) == 2, command
    folder, _, name = command[1].rpartition("/")
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == folder)
    volume = next(v for v in pod_spec["volumes"] if v["name"] == mount["name"])
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume["configMap"]["name"])
    return config["data"][name]


def component(docs: list[dict], kind: str, name: str) -> dict:
    """The one object of `kind` whose app.kubernetes.io/component label is `name` (for objects named by a
    hash, such as one-shot Jobs)."""
    found = [d for d in docs if d.get("kind") == kind
             and d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == name]
    assert len(found) == 1, f"expected one {kind} of component {name}, got {[d['metadata']['name'] for d in found]}"
    return found[0]
