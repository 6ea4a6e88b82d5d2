"""Compose `secrets`: how their content reaches the chart.

Charts get committed and pushed to registries, so a secret's content is not copied into the chart by
default: the Secret's data comes from values at install time (`--set-file secrets.<name>.value=PATH`
for file secrets, `--set-literal ...="$VAR"` for environment secrets) or from an existing Secret
(`secrets.<name>.existingSecret`). `bridge convert --embed-secrets` copies it into files/ instead.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .naming import dns_label

if TYPE_CHECKING:
    from .model import Chart

# Characters Helm's --set parser treats as syntax inside a key; a backslash makes them literal.
_SET_KEY_SYNTAX = re.compile(r"([.,=\[\]\\])")


def set_key(*parts: str) -> str:
    """A `--set` key path whose parts are taken literally: `secrets`, `db.pass` -> `secrets.db\\.pass`."""
    return ".".join(_SET_KEY_SYNTAX.sub(r"\\\1", p) for p in parts)


@dataclass(frozen=True)
class InstallValue:
    """One value the operator must supply at `helm install` time."""

    flag: str  # --set-file | --set-literal
    key: str  # the --set key path
    file: str | None = None  # absolute path of the content (--set-file)
    variable: str | None = None  # environment variable holding the content (--set-literal)

    def argument(self, base: str | None = None) -> str:
        """`--set-file KEY=PATH` (PATH relative to `base` when given) or `--set-literal KEY="$VAR"`."""
        if self.file is not None:
            path = os.path.relpath(self.file, base) if base else self.file
            if base and not path.startswith(".."):
                path = "./" + path if not path.startswith("./") else path
            return f"{self.flag} {shlex.quote(f'{self.key}={path}')}"
        return f'{self.flag} {shlex.quote(self.key + "=")}"${self.variable}"'

    def missing_message(self, name: str, base: str | None = None) -> str:
        """Helm's error when the value is missing: the exact flag (paths from `base`) and the alternative."""
        flag = self.argument(base) if (self.file or self.variable) else f"{self.flag} {self.key}=PATH"
        return (
            f"secret {name} has no content: pass {flag}"
            + (" (path from the compose project directory)" if self.file else "")
            + f", or name an existing Secret with --set {set_key('secrets', name, 'existingSecret')}=NAME"
        )


def install_value(name: str, spec: dict) -> InstallValue | None:
    """What supplies secret `name` at install time; None for `content:` secrets, which have no source."""
    key = set_key("secrets", name, "value")
    if spec.get("file"):
        return InstallValue("--set-file", key, file=str(spec["file"]))
    if spec.get("environment"):
        return InstallValue("--set-literal", key, variable=str(spec["environment"]))
    return None


def install_command(release: str, chart_dir: str, values: list[InstallValue], base: str | None = None,
                    values_file: str | None = None) -> str:
    """The `helm install` command line for a chart, with every value it requires."""
    parts = ["helm", "install", shlex.quote(release), shlex.quote(chart_dir)]
    if values_file:
        parts += ["-f", shlex.quote(values_file)]
    parts += [v.argument(base) for v in values]
    return " ".join(parts)
def install_info(chart: Chart, chart_dir: str | None = None, base: str | None = None) -> dict[str, Any]:
    """The `helm install` command for the chart at `chart_dir`, with secret paths relative to `base`
    (default: the chart written as ./<project>-chart, paths relative to the compose project)."""



    chart_dir = chart_dir or f"./{chart.project}-chart"
    base = base or chart.working_dir
    values = chart.install_values
    release = dns_label(chart.project, 53)
    values_file = f"{chart_dir.rstrip('/')}-secret-values.yaml" if chart.env_secrets and not chart.embed_secrets else None
    return {"command": install_command(release, chart_dir, values, base, values_file), "values": values,
            "base": base, "values_file": values_file}




# Environment secrets. Most apps keep their passwords in variables interpolated from `.env`
# (`POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}`), not in compose `secrets:`. A variable whose name says
# secret goes into a Secret the chart references with secretKeyRef, its value into a values file written
# beside the chart (never inside it), so values.yaml holds no password. A false positive costs one more
# install value, a false negative leaks a password: the names match generously.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|PASS|CREDENTIAL", re.IGNORECASE)
# Values too common to point at a secret when they appear inside another variable (`AUTH_TOKEN_ENABLED: true`).
_COMMON = {"true", "false", "yes", "no", "on", "off", "null", "none"}


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def secret_values(interpolated: dict[str, str], environments: list[dict[str, Any]]) -> frozenset[str]:
    """Values that are secret wherever they appear: of the secret-named variables the compose files
    interpolated, and of the secret-named entries of every service's environment."""
    found = {v for k, v in interpolated.items() if is_secret_name(k)}
    for env in environments:
        found |= {str(v) for k, v in env.items() if v is not None and is_secret_name(k)}
    return frozenset(v for v in found if len(v) >= 4 and v.lower() not in _COMMON and not v.isdigit())


def is_secret_env(name: str, value: str, secrets: frozenset[str]) -> bool:
    """An environment entry is secret by its name, or when its value holds a secret value
    (`DATABASE_URL: postgres://app:${DB_PASS}@db/app`)."""
    return is_secret_name(name) or any(s in value for s in secrets)


def secret_values_path(dest: Any) -> Any:
    """Where `bridge convert -o DIR` writes the secret values: beside the chart, `DIR-secret-values.yaml`."""
    return dest.parent / f"{dest.name}-secret-values.yaml"


def keys_holding(values: dict[str, Any], secrets: frozenset[str]) -> list[str]:
    """Top-level keys of a service's values (its environment aside) whose strings hold a secret value:
    a healthcheck or command that spells out a password from `.env` stays in values.yaml."""
    def holds(value: Any) -> bool:
        if isinstance(value, str):
            return any(s in value for s in secrets)
        if isinstance(value, dict):
            return any(holds(v) for v in value.values())
        if isinstance(value, list):
            return any(holds(v) for v in value)
        return False

    if not secrets:
        return []
    return [k for k, v in values.items() if k not in ("env", "secretEnv") and holds(v)]
