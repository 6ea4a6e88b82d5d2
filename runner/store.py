"""The model store on the volume, in Docker Model Runner's layout:

    layout.json                     {"version": "1.0.0"}
    models.json                     {"models": [{"id": "sha256:<manifest>", "tags": [...], "files": [...]}]}
    blobs/sha256/<hex>              config, GGUF shards, license, chat template (verified by sha256)
    blobs/sha256/<hex>.incomplete   a download in progress (resumed with Range)
    manifests/sha256/<hex>          the raw OCI manifest
    bundles/sha256/<hex>/model/     GGUF shards linked under names llama.cpp loads (split models)

Every write is atomic (temporary file + rename) so a crash or a full disk leaves the store consistent.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .names import parse

LAYOUT_VERSION = "1.0.0"
MEDIA_CONFIG = "application/vnd.docker.ai.model.config.v0.1+json"
MEDIA_GGUF = "application/vnd.docker.ai.gguf.v3"
MEDIA_LICENSE = "application/vnd.docker.ai.license"
MEDIA_TEMPLATE = "application/vnd.docker.ai.chat.template.jinja"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class StoreError(Exception):
    """Something about the store is wrong (missing model, bad digest)."""


class NotFound(StoreError):
    """No model with that reference."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """The hex part of a `sha256:<64 hex>` digest; anything else is rejected (no path tricks)."""
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise StoreError(f"unsupported digest {digest!r}")
    hexpart = digest[7:]
    if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise StoreError(f"invalid digest {digest!r}")
    return hexpart


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class Entry:
    id: str
    tags: list[str]
    files: list[str]

    def to_json(self) -> dict:
        return {"id": self.id, "tags": self.tags, "files": self.files}


class Store:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.lock = threading.RLock()
        for sub in ("blobs/sha256", "manifests/sha256", "bundles/sha256"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if not (self.root / "layout.json").exists():
            atomic_write(self.root / "layout.json", json.dumps({"version": LAYOUT_VERSION}).encode())
        if not (self.root / "models.json").exists():
            self._write_index([])

    # --- index -------------------------------------------------------------------------------
    def _read_index(self) -> list[Entry]:
        try:
            data = json.loads((self.root / "models.json").read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read models.json: {exc}") from None
        return [Entry(m["id"], list(m.get("tags") or []), list(m.get("files") or [])) for m in data.get("models") or []]

    def _write_index(self, entries: list[Entry]) -> None:
        data = {"models": [e.to_json() for e in entries]}
        atomic_write(self.root / "models.json", json.dumps(data, indent=2).encode())

    def list(self) -> list[Entry]:
        with self.lock:
            return self._read_index()

    def find(self, reference: str) -> Entry:
        """By tag (normalised) or by id (`sha256:...`, or its first 12 hex characters)."""
        with self.lock:
            entries = self._read_index()
        if reference.startswith("sha256:") or (len(reference) >= 12 and all(c in "0123456789abcdef" for c in reference)):
            for e in entries:
                if e.id == reference or e.id[7:].startswith(reference.removeprefix("sha256:")):
                    return e
        ref = parse(reference)
        wanted = str(ref)
        for e in entries:
            if wanted in e.tags:
                return e
            if ref.digest and e.id == ref.digest:
                return e
        raise NotFound(f"model {wanted} not found")

    def add(self, manifest_digest: str, tags: list[str], files: list[str]) -> Entry:
        with self.lock:
            entries = self._read_index()
            # A tag points at one model only.
            for e in entries:
                e.tags = [t for t in e.tags if t not in tags]
            found = next((e for e in entries if e.id == manifest_digest), None)
            if found is None:
                found = Entry(manifest_digest, [], files)
                entries.append(found)
            for t in tags:
                if t not in found.tags:
                    found.tags.append(t)
            found.files = files
            self._write_index(entries)
            return found

    def delete(self, reference: str) -> Entry:
        with self.lock:
            entry = self.find(reference)
            entries = [e for e in self._read_index() if e.id != entry.id]
            self._write_index(entries)
            still_used = {f for e in entries for f in e.files}
            for f in entry.files:
                if f not in still_used:
                    self.blob_path(f).unlink(missing_ok=True)
            (self.root / "manifests" / "sha256" / check_digest(entry.id)).unlink(missing_ok=True)
            bundle = self.root / "bundles" / "sha256" / check_digest(entry.id)
            if bundle.exists():
                for p in sorted(bundle.rglob("*"), reverse=True):
                    p.unlink() if p.is_file() or p.is_symlink() else p.rmdir()
                bundle.rmdir()
            return entry

    # --- blobs and manifests -------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / check_digest(digest)

    def incomplete_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / (check_digest(digest) + ".incomplete")

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def write_blob(self, data: bytes) -> str:
        digest = "sha256:" + sha256_hex(data)
        path = self.blob_path(digest)
        if not path.exists():
            atomic_write(path, data)
        return digest

    def write_manifest(self, raw: bytes) -> str:
        digest = "sha256:" + sha256_hex(raw)
        atomic_write(self.root / "manifests" / "sha256" / check_digest(digest), raw)
        return digest

    def manifest(self, entry: Entry) -> dict:
        path = self.root / "manifests" / "sha256" / check_digest(entry.id)
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StoreError(f"manifest of {entry.id} unreadable: {exc}") from None

    def config(self, entry: Entry) -> dict:
        cfg = self.manifest(entry).get("config") or {}
        try:
            return json.loads(self.blob_path(cfg["digest"]).read_bytes())
        except (KeyError, OSError, ValueError):
            return {}

    def gguf_files(self, entry: Entry) -> list[Path]:
        """The model's GGUF shards as paths llama.cpp can load (a bundle of links for split models)."""
        layers = [layer for layer in self.manifest(entry).get("layers") or [] if layer.get("mediaType") == MEDIA_GGUF]
        if not layers:
            raise StoreError(f"model {entry.id} has no GGUF layer")
        blobs = [self.blob_path(layer["digest"]) for layer in layers]
        if len(blobs) == 1:
            return blobs
        bundle = self.root / "bundles" / "sha256" / check_digest(entry.id) / "model"
        bundle.mkdir(parents=True, exist_ok=True)
        out = []
        for i, blob in enumerate(blobs, 1):
            link = bundle / f"model-{i:05d}-of-{len(blobs):05d}.gguf"
            if not link.exists():
                try:
                    os.link(blob, link)
                except OSError:
                    os.symlink(blob, link)
            out.append(link)
        return out

    def chat_template(self, entry: Entry) -> str | None:
        for layer in self.manifest(entry).get("layers") or []:
            if layer.get("mediaType") == MEDIA_TEMPLATE:
                try:
                    return self.blob_path(layer["digest"]).read_text()
                except OSError:
                    return None
        return None

    def describe(self, entry: Entry) -> dict[str, Any]:
        """A model as DMR's `GET /models` shows it."""
        cfg = self.config(entry)
        inner = cfg.get("config") or {}
        created = cfg.get("descriptor", {}).get("created")
        try:
            created_ts = int(time.mktime(time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S"))) if created else 0
        except (TypeError, ValueError):
            created_ts = 0
        if not created_ts:
            try:
                created_ts = int((self.root / "manifests" / "sha256" / check_digest(entry.id)).stat().st_mtime)
            except OSError:
                created_ts = 0
        return {
            "id": entry.id,
            "tags": entry.tags,
            "created": created_ts,
            "config": {
                "format": inner.get("format", "gguf"),
                "quantization": inner.get("quantization", ""),
                "parameters": inner.get("parameters", ""),
                "architecture": inner.get("architecture", ""),
                "size": inner.get("size", ""),
            },
        }
