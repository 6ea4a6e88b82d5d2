"""Names: Kubernetes DNS labels, port names, env var names, values keys."""

from __future__ import annotations

import re

from .errors import BridgeError

# Longest component suffix we put after the release fullname; the template truncates the fullname
# so that `<fullname>-<component>` always fits in 63 characters.
MAX_COMPONENT = 40

# Top-level values keys the chart itself uses; a service with one of these names gets a suffix.
RESERVED_VALUES_KEYS = {
    "global", "modelRunner", "persistence", "secrets", "configs", "networkPolicies", "serviceAliases",
    "hostPath", "waitForDependencies", "imagePullSecrets", "nameOverride", "fullnameOverride",
    "commonLabels", "commonAnnotations", "podSecurityContext", "serviceAccount", "podSecurity", "tests",
    "seedVolumes", "envSecrets",
}


def _short_hash(text: str, n: int = 6) -> str:
    import hashlib  # only names that need shortening pay for OpenSSL's start-up (~5 ms)

    return hashlib.sha256(text.encode()).hexdigest()[:n]


# Patterns of the name functions, which run for every service, port and label value.
_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_NOT_LABEL_VALUE = re.compile(r"[^-._a-zA-Z0-9]+")


def dns_label(name: str, max_len: int = MAX_COMPONENT) -> str:
    """A DNS-1123 label from any string: lower case, `[a-z0-9-]`, starts and ends alphanumeric.
    Names that had to be cut or were changed beyond recognition get a short hash for uniqueness."""
    label = _NOT_DNS.sub("-", name.lower())
    label = _DASHES.sub("-", label).strip("-")
    if not label:
        label = "x-" + _short_hash(name)
    if len(label) > max_len:
        label = label[: max_len - 7].rstrip("-") + "-" + _short_hash(name)
    return label


def dns1035_label(name: str, max_len: int = 63) -> str | None:
    """`name` if it is already a valid DNS-1035 label (what a Service name must be), else None."""
    if len(name) <= max_len and _DNS1035.fullmatch(name):
        return name
    return None


def unique_labels(names: list[str], kind: str, max_len: int = MAX_COMPONENT) -> dict[str, str]:
    """Map each name to its DNS label; report names that collide after sanitising."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name in sorted(names):
        label = dns_label(name, max_len)
        if label in seen:
            raise BridgeError(
                f"{kind} names {seen[label]!r} and {name!r} both become {label!r} as Kubernetes names; rename one",
                path=(kind, name),
            )
        seen[label] = name
        out[name] = label
    return out


def unique_name(base: str, used: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... the first not in `used`; recorded in `used`."""
    candidate, i = base, 2
    while candidate in used:
        candidate = f"{base}-{i}"
        i += 1
    used.add(candidate)
    return candidate


def port_name(protocol: str, port: int, wanted: str | None, used: set[str]) -> str:
    """An IANA_SVC_NAME (<= 15 chars, `[a-z0-9-]`, at least one letter) unique within a pod."""
    candidates = []
    if wanted:
        candidates.append(wanted.lower())
    candidates.append(f"{protocol.lower()}-{port}")
    for candidate in candidates:
        if (
            len(candidate) <= 15
            and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", candidate)
            and "--" not in candidate
            and re.search(r"[a-z]", candidate)
            and candidate not in used
        ):
            used.add(candidate)
            return candidate
    i = 2
    while f"p{port}-{i}"[:15] in used:
        i += 1
    name = f"p{port}-{i}"[:15]
    used.add(name)
    return name


def env_prefix(model_key: str) -> str:
    """Prefix of a model's env vars, as `docker compose up` builds it: upper case, `-` -> `_`."""
    return model_key.upper().replace("-", "_")


def values_key(service: str) -> str:
    """The top-level values key of a service: its name (so `--set web-app.replicas=3` works),
    with dots replaced (a dot would nest in `--set`) and reserved chart keys suffixed."""
    key = service.replace(".", "_")
    if key in RESERVED_VALUES_KEYS:
        key = key + "Service"
    return key


def label_value(text: str) -> str:
    """A valid Kubernetes label value (<= 63, alphanumeric ends, `[-._a-zA-Z0-9]`)."""
    value = _NOT_LABEL_VALUE.sub("-", text)[:63]
    return value.strip("-._")


_QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def is_qualified_key(key: str) -> bool:
    """Whether `key` is a valid label/annotation key (optional DNS prefix, name <= 63)."""
    if not _QUALIFIED.match(key):
        return False
    prefix, _, name = key.rpartition("/")
    return len(name) <= 63 and len(prefix) <= 253
