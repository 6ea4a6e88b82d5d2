"""Pull models: OCI registries over the distribution API, plain HTTP(S) GGUF URLs, local GGUF files.

OCI: anonymous (or caller-supplied) bearer token after a 401 challenge, `INSECURE_REGISTRY=true` for
plain http, manifest config `application/vnd.docker.ai.model.config.v0.1+json`, GGUF layers
`application/vnd.docker.ai.gguf.v3` (one per shard) plus optional license / chat template layers.
Every blob is written as `<hex>.incomplete`, resumed with `Range` after an interruption, verified by
sha256 and renamed into place; only then is the model registered. At most 2 pulls run at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .names import Reference, parse
from .store import MEDIA_CONFIG, MEDIA_GGUF, MEDIA_MANIFEST, Store, StoreError, check_digest

ACCEPT = ", ".join([MEDIA_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"])
CHUNK = 1 << 20
PULLS = threading.BoundedSemaphore(2)
Progress = Callable[[dict[str, Any]], None]


class PullError(Exception):
    """A pull failed; nothing was registered."""


def _insecure() -> bool:
    return os.environ.get("INSECURE_REGISTRY", "").lower() in ("1", "true", "yes")


def _host(ref: Reference) -> str:
    if ref.registry is None:
        return os.environ.get("DEFAULT_REGISTRY") or "registry-1.docker.io"
    return ref.registry


def _url_allowed(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


class _SameHostAuthRedirect(urllib.request.HTTPRedirectHandler):
    """Follows redirects, keeping the registry token only where the registry itself is the target.

    The token is added as an unredirected header, which urllib drops on every redirect; registries
    commonly redirect blob downloads to object storage (signed URLs that must not, and often cannot,
    receive it), so it is put back only for a redirect to the very host it was issued for."""

    def __init__(self, host: str) -> None:
        self.host = host

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        auth = req.unredirected_hdrs.get("Authorization")
        if new is not None and auth and urllib.parse.urlsplit(newurl).netloc == self.host:
            new.add_unredirected_header("Authorization", auth)
        return new


class _Client:
    def __init__(self, ref: Reference, bearer: str | None) -> None:
        self.ref = ref
        self.host = _host(ref)
        self.base = f"{'http' if _insecure() else 'https'}://{self.host}/v2/{ref.repository}"
        self.token = bearer
        self.user_token = bearer is not None
        self.opener = urllib.request.build_opener(_SameHostAuthRedirect(self.host))

    def _check_realm(self, realm: str) -> None:
        """The token service must be https, or plain http on the registry's own host when the registry
        itself is insecure (a local test registry): never a host the challenge merely names."""
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme == "https" and parts.netloc:
            return
        if parts.scheme == "http" and _insecure() and parts.netloc == self.host:
            return
        raise PullError(f"registry {self.host} names an untrusted token service {realm!r} "
                        f"(https only; http only on the registry's own host with INSECURE_REGISTRY)")

    def _challenge(self, header: str) -> None:
        if self.user_token or not header.lower().startswith("bearer "):
            raise PullError(f"registry refused access to {self.ref.name} (401)")
        params = dict(re.findall(r'(\w+)="([^"]*)"', header))
        realm = params.pop("realm", None)
        if not realm:
            raise PullError("registry sent a bearer challenge without a realm")
        self._check_realm(realm)
        params.setdefault("scope", f"repository:{self.ref.repository}:pull")
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                body = json.loads(resp.read())
        except (urllib.error.URLError, ValueError) as exc:
            raise PullError(f"cannot get a registry token from {realm}: {exc}") from None
        self.token = body.get("token") or body.get("access_token")
        if not self.token:
            raise PullError("registry token response has no token")

    def open(self, path: str, headers: dict[str, str] | None = None) -> Any:
        for attempt in range(2):
            req = urllib.request.Request(self.base + path, headers=dict(headers or {}))
            if self.token:
                req.add_unredirected_header("Authorization", f"Bearer {self.token}")
            try:
                return self.opener.open(req, timeout=120)
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and attempt == 0:
                    self._challenge(exc.headers.get("WWW-Authenticate", ""))
                    continue
                if exc.code == 416:
                    raise
                detail = exc.read()[:300].decode(errors="replace")
                raise PullError(f"registry answered {exc.code} for {path}: {detail}") from None
            except urllib.error.URLError as exc:
                raise PullError(f"cannot reach registry {_host(self.ref)}: {exc.reason}") from None
        raise PullError(f"registry refused access to {self.ref.name}")


@contextlib.contextmanager
def _blob_lock(store: Store, digest: str) -> Iterator[None]:
    """An exclusive lock on one blob's download: runner replicas sharing a ReadWriteMany volume pull
    the same models at start, and must not append to the same partial file (flock; on NFS the kernel
    maps it to a POSIX lock)."""
    path = store.incomplete_path(digest).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _download(client: _Client, store: Store, desc: dict, progress: Progress, totals: dict) -> None:
    digest = desc["digest"]
    size = int(desc.get("size") or 0)
    final = store.blob_path(digest)
    if final.is_file():
        totals["pulled"] += size
        return
    with _blob_lock(store, digest):
        if final.is_file():  # another replica finished it while we waited
            totals["pulled"] += size
            return
        _fetch(client, store, digest, size, final, progress, totals)


def _fetch(client: _Client, store: Store, digest: str, size: int, final: Path, progress: Progress, totals: dict) -> None:
    part = store.incomplete_path(digest)
    have = part.stat().st_size if part.exists() else 0
    hasher = hashlib.sha256()
    headers = {}
    if have:
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(CHUNK), b""):
                hasher.update(block)
        headers["Range"] = f"bytes={have}-"
    try:
        resp = client.open(f"/blobs/{digest}", headers)
    except urllib.error.HTTPError:  # 416: the partial file is complete or wrong; start over
        part.unlink(missing_ok=True)
        have, hasher, resp = 0, hashlib.sha256(), client.open(f"/blobs/{digest}")
    with resp:
        mode = "ab"
        if have and resp.status != 206:
            have, hasher, mode = 0, hashlib.sha256(), "wb"
        current = have
        with open(part, mode) as fh:
            for block in iter(lambda: resp.read(CHUNK), b""):
                fh.write(block)
                hasher.update(block)
                current += len(block)
                if size and current > size:
                    break
                progress({
                    "type": "progress",
                    "message": f"Downloaded: {current / 2**20:.2f} MB",
                    "total": totals["total"],
                    "pulled": totals["pulled"] + current,
                    "layer": {"id": digest, "size": size, "current": current},
                })
            fh.flush()
            os.fsync(fh.fileno())
    if "sha256:" + hasher.hexdigest() != digest or (size and current != size):
        part.unlink(missing_ok=True)
        raise PullError(f"blob {digest} failed verification (got {current} bytes, sha256 mismatch or wrong size)")
    os.replace(part, final)
    totals["pulled"] += size


def pull_oci(ref: Reference, store: Store, progress: Progress, bearer: str | None = None) -> str:
    client = _Client(ref, bearer)
    with client.open(f"/manifests/{ref.digest or ref.tag}", {"Accept": ACCEPT}) as resp:
        raw = resp.read(8 * 2**20)
    if ref.digest and "sha256:" + hashlib.sha256(raw).hexdigest() != ref.digest:
        raise PullError("manifest does not match the requested digest")
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise PullError("registry returned a manifest that is not JSON") from None
    config = manifest.get("config") or {}
    layers = manifest.get("layers") or []
    if config.get("mediaType") != MEDIA_CONFIG:
        raise PullError(f"{ref} is not a model artifact (config media type {config.get('mediaType')!r})")
    if not any(layer.get("mediaType") == MEDIA_GGUF for layer in layers):
        raise PullError(f"{ref} has no GGUF layer; only GGUF models are supported")
    for desc in [config, *layers]:
        check_digest(desc.get("digest", ""))
    totals = {"total": sum(int(d.get("size") or 0) for d in [config, *layers]), "pulled": 0}
    for desc in [config, *layers]:
        _download(client, store, desc, progress, totals)
    manifest_digest = store.write_manifest(raw)
    files = [d["digest"] for d in [config, *layers]]
    tags = [str(ref)] if ref.tag else []
    store.add(manifest_digest, tags, files)
    return manifest_digest


def _gguf_artifact(store: Store, gguf: Path, tag: str) -> str:
    """Register a GGUF file that is already in the store's blobs as a model with a minimal manifest."""
    h = hashlib.sha256()
    with open(gguf, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    digest = "sha256:" + h.hexdigest()
    size = gguf.stat().st_size
    if not store.has_blob(digest):
        tmp = store.incomplete_path(digest)
        shutil.copyfile(gguf, tmp)
        os.replace(tmp, store.blob_path(digest))
    config = {"config": {"format": "gguf", "size": f"{size / 2**20:.2f} MiB"}, "descriptor": {}}
    config_raw = json.dumps(config).encode()
    config_digest = store.write_blob(config_raw)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config_raw)},
        "layers": [{"mediaType": MEDIA_GGUF, "digest": digest, "size": size}],
    }
    manifest_digest = store.write_manifest(json.dumps(manifest).encode())
    store.add(manifest_digest, [tag], [config_digest, digest])
    return manifest_digest


def _url_tag(url: str) -> str:
    stem = Path(urllib.parse.urlparse(url).path).name.removesuffix(".gguf") or "model"
    stem = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._") or "model"
    return str(parse(f"local/{stem}"))


def pull_url(url: str, store: Store, progress: Progress) -> str:
    """A plain HTTP(S) GGUF file, tagged `local/<file name>:latest`."""
    tmp = store.root / "blobs" / "sha256" / (hashlib.sha256(url.encode()).hexdigest() + ".download.incomplete")
    try:
        with urllib.request.urlopen(url, timeout=120) as resp, open(tmp, "wb") as fh:
            total = int(resp.headers.get("Content-Length") or 0)
            current = 0
            for block in iter(lambda: resp.read(CHUNK), b""):
                fh.write(block)
                current += len(block)
                progress({"type": "progress", "message": f"Downloaded: {current / 2**20:.2f} MB", "total": total,
                          "pulled": current, "layer": {"id": url, "size": total, "current": current}})
        with open(tmp, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise PullError(f"{url} is not a GGUF file")
        return _gguf_artifact(store, tmp, _url_tag(url))
    except urllib.error.URLError as exc:
        raise PullError(f"cannot download {url}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def pull_file(path: str, store: Store) -> str:
    """A local GGUF file under MODELS_IMPORT_DIR (other paths are refused)."""
    base = os.environ.get("MODELS_IMPORT_DIR")
    if not base:
        raise PullError("local files can be imported only from MODELS_IMPORT_DIR, which is not set")
    real = Path(path).resolve()
    if Path(base).resolve() not in real.parents or not real.is_file():
        raise PullError(f"{path} is not a file under MODELS_IMPORT_DIR")
    with open(real, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise PullError(f"{path} is not a GGUF file")
    return _gguf_artifact(store, real, _url_tag(real.name))


def pull(source: str, store: Store, progress: Progress, bearer: str | None = None) -> str:
    """Pull `source` (model reference, http(s) URL or file:// URL); return the manifest digest."""
    with PULLS:
        try:
            if source.startswith(("http://", "https://")):
                # The runner would fetch any URL from inside the cluster for whoever can reach it.
                if not _url_allowed("MODELS_ALLOW_URL_PULLS"):
                    raise PullError("pulling plain URLs is off; set MODELS_ALLOW_URL_PULLS=true to allow it")
                return pull_url(source, store, progress)
            if source.startswith("file://"):
                return pull_file(urllib.parse.urlparse(source).path, store)
            return pull_oci(parse(source), store, progress, bearer)
        except StoreError as exc:
            raise PullError(str(exc)) from None
        except OSError as exc:
            raise PullError(f"cannot write to the model store: {exc.strerror or exc}") from None


class ArchiveError(Exception):
    """A model archive (`docker model load`) that is malformed or does not match its digests."""


def load_archive(store: Store, archive: Path) -> str:
    """Register the model in a DMR model archive: a tar of `blobs/sha256/<hex>` files (each checked
    against its name) and `manifest.json`, read as a stream. The model has no tag until one is given
    (POST /models/{id}/tag), as with DMR."""
    import tarfile

    raw_manifest: bytes | None = None
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                if not member.isreg():
                    continue
                if member.name == "manifest.json":
                    raw_manifest = tar.extractfile(member).read()  # type: ignore[union-attr]
                    continue
                parts = Path(member.name).parts
                if len(parts) != 3 or parts[0] != "blobs" or parts[1] != "sha256" or ".." in parts:
                    continue
                digest = "sha256:" + parts[2]
                try:
                    tmp = store.incomplete_path(digest)
                except StoreError as exc:
                    raise ArchiveError(f"{member.name}: {exc}") from None
                source = tar.extractfile(member)
                h = hashlib.sha256()
                with open(tmp, "wb") as out:
                    while block := source.read(CHUNK):  # type: ignore[union-attr]
                        h.update(block)
                        out.write(block)
                if "sha256:" + h.hexdigest() != digest:
                    tmp.unlink(missing_ok=True)
                    raise ArchiveError(f"{member.name}: content does not match its digest")
                os.replace(tmp, store.blob_path(digest))
    except tarfile.TarError as exc:
        raise ArchiveError(f"not a model archive: {exc}") from None
    if raw_manifest is None:
        raise ArchiveError("the archive has no manifest.json")
    try:
        manifest = json.loads(raw_manifest)
        files = [d["digest"] for d in [manifest["config"], *manifest["layers"]]]
    except (ValueError, KeyError, TypeError):
        raise ArchiveError("manifest.json is not a model manifest") from None
    missing = [f for f in files if not store.has_blob(f)]
    if missing:
        raise ArchiveError(f"the archive lacks blobs {', '.join(missing)}")
    digest = store.write_manifest(raw_manifest)
    store.add(digest, [], files)
    return digest
