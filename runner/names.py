"""Model references, normalised the way Docker Model Runner does it.

`smollm2` -> `ai/smollm2:latest`; `hf.co/...` -> `huggingface.co/...`; only the name part is
lower-cased (tags and digests keep their case). Anything that could escape the store is rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_ORG = "ai"
DEFAULT_TAG = "latest"
DEFAULT_REGISTRY = "index.docker.io"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_REGISTRY = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|\[?[0-9a-fA-F:.]+\]?)(:[0-9]+)?$")


class InvalidReference(ValueError):
    """A model name that is not a valid reference."""


@dataclass(frozen=True)
class Reference:
    registry: str | None  # None: Docker Hub
    repository: str  # e.g. ai/smollm2
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def host(self) -> str:
        return self.registry or DEFAULT_REGISTRY

    @property
    def remote_repository(self) -> str:
        return self.repository


def parse(text: str) -> Reference:
    """Parse and normalise a model reference; raise InvalidReference on anything unsafe."""
    if not isinstance(text, str) or not text or len(text) > 512:
        raise InvalidReference("model reference must be a non-empty string of at most 512 characters")
    if any(c.isspace() for c in text) or "\\" in text or "\x00" in text:
        raise InvalidReference(f"invalid model reference {text!r}")
    if text.startswith("/") or ".." in text.split("/") or "/../" in text or text.startswith("../"):
        raise InvalidReference(f"invalid model reference {text!r}: paths are not allowed")
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReference(f"invalid digest {digest!r}")
    tag = None
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        text, tag = text.rsplit(":", 1)
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid tag {tag!r}")
    parts = text.split("/")
    registry = None
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry = parts.pop(0)
        if registry.lower() == "hf.co":
            registry = "huggingface.co"
        if not _REGISTRY.match(registry):
            raise InvalidReference(f"invalid registry {registry!r}")
        if registry.lower() in ("docker.io", "index.docker.io", "registry-1.docker.io"):
            registry = None
    parts = [p.lower() for p in parts]
    if not parts or any(not _COMPONENT.match(p) for p in parts):
        raise InvalidReference(f"invalid model name {'/'.join(parts)!r}")
    if registry is None and len(parts) == 1:
        parts.insert(0, DEFAULT_ORG)
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(registry, "/".join(parts), tag, digest)


def normalize(text: str) -> str:
    """The canonical string form of a model reference."""
    return str(parse(text))


def display_name(text: str) -> str:
    """Name without the default `:latest` tag, as the OpenAI-compatible model list shows it."""
    ref = parse(text)
    if ref.tag == DEFAULT_TAG and not ref.digest:
        return ref.name
    return str(ref)
