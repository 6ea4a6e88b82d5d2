"""Load a Compose project the way `docker compose config` does.

files -> parse -> schema -> interpolate -> canonical syntax -> extends -> include -> merge
      -> profiles -> env_file/environment resolution -> resource names -> consistency checks
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dotenv import read_env_file
from .errors import BridgeError, UsageError
from .interpolate import interpolate_tree
from .merge import merge, strip_tags, unique
from .normalize import Ctx, canonical_document
from .parse import Positions, parse_file
from .sources import content_root, is_inside, is_system
from .validate import check_project, validate_schema

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


@dataclass
class Options:
    """What `bridge config` and `bridge convert` were asked to load (their shared flags)."""

    files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    interpolate: bool = True
    environ: Mapping[str, str] | None = None
    cwd: str | None = None


@dataclass
class Project:
    """The canonical project plus what is needed to point errors at source lines."""

    data: dict
    working_dir: str
    files: list[str]
    environment: dict[str, str]
    positions: list[Positions]
    warnings: list[str] = field(default_factory=list)
    # Variables the compose files interpolated, with the values they had (.env, --env-file, environment):
    # the chart keeps those whose names say secret out of values.yaml (bridge/secrets.py).
    interpolated: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.data["name"]

    def locate(self, path: tuple) -> tuple[str | None, int | None, int | None]:
        file, line, col = locate(self.positions, path)
        return (file or (self.files[0] if self.files else None)), line, col


def locate(positions: list[Positions], path: tuple) -> tuple[str | None, int | None, int | None]:
    """Where a key path was written: the last file that defines exactly it, else its deepest prefix."""
    for pos in reversed(positions):
        mark = pos.marks.get(tuple(path))
        if mark:
            return pos.file, mark[0], mark[1]
    for pos in reversed(positions):
        mark = pos.find(path)
        if mark:
            return pos.file, mark[0], mark[1]
    return None, None, None


def normalize_project_name(name: str) -> str:
    name = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return name.lstrip("_-")


def _display(path: Path, cwd: str) -> str:
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def discover_files(opts: Options, environ: Mapping[str, str]) -> list[Path]:
    cwd = Path(opts.cwd or os.getcwd())
    if opts.files:
        names = list(opts.files)
    elif environ.get("COMPOSE_FILE"):
        sep = environ.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
        names = [n for n in environ["COMPOSE_FILE"].split(sep) if n]
    else:
        base = Path(opts.project_directory) if opts.project_directory else cwd
        found: list[Path] = []
        for directory in [base, *base.parents] if not opts.project_directory else [base]:
            for name in DEFAULT_FILES:
                if (directory / name).is_file():
                    found.append(directory / name)
                    stem, ext = name.rsplit(".", 1)
                    override = directory / f"{stem}.override.{ext}"
                    if override.is_file():
                        found.append(override)
                    break
            if found:
                break
        if not found:
            raise UsageError(
                "no configuration file provided: not found (compose.yaml, compose.yml, "
                "docker-compose.yaml or docker-compose.yml)"
            )
        return found
    paths = []
    for name in names:
        if name == "-":
            raise UsageError("reading compose from standard input is not supported; pass a file")
        path = Path(name)
        if not path.is_absolute():
            path = cwd / path
        paths.append(Path(os.path.normpath(path)))
    return paths


def project_environment(working_dir: str, opts: Options, environ: Mapping[str, str], cwd: str) -> dict[str, str]:
    """Process environment first, then `--env-file` (or `.env` in the project dir) where unset."""
    env = dict(environ)
    if opts.env_files:
        files = [Path(f) if os.path.isabs(f) else Path(cwd) / f for f in opts.env_files]
        required = True
    else:
        files = [Path(working_dir) / ".env"]
        required = False
    from_files: dict[str, str] = {}
    for path in files:
        if not path.exists():
            if required:
                raise BridgeError("env file not found", _display(path, cwd))
            continue
        if path.is_dir():
            if required:
                raise BridgeError("env file is a directory", _display(path, cwd))
            continue
        values = read_env_file(path, _display(path, cwd), lookup={**from_files, **env})
        for k, v in values.items():
            if v is not None:
                from_files[k] = v
    for k, v in from_files.items():
        env.setdefault(k, v)
    return env


class _Recorded(Mapping[str, str]):
    """The interpolation environment, noting each variable a compose file uses that has a value."""

    def __init__(self, env: Mapping[str, str], used: dict[str, str]) -> None:
        self.env, self.used = env, used

    def __getitem__(self, name: str) -> str:
        value = self.env[name]
        self.used[name] = value
        return value

    def __contains__(self, name: object) -> bool:
        if name in self.env:
            self.used[str(name)] = self.env[str(name)]
            return True
        return False

    def __iter__(self):  # noqa: ANN204 - Mapping's protocol
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


class _Loader:
    def __init__(self, opts: Options, environ: Mapping[str, str], cwd: str) -> None:
        self.opts = opts
        self.environ = environ
        self.cwd = cwd
        self.positions: list[Positions] = []
        self.warnings: list[str] = []
        self._cache: dict[tuple[str, str], dict] = {}
        self._parsed: dict[str, tuple[list, Positions]] = {}
        self.interpolated: dict[str, str] = {}

    def parse(self, path: Path) -> tuple[list, Positions]:
        """Each file is parsed once per load (the project name pre-pass reuses it)."""
        key = str(path)
        if key not in self._parsed:
            self._parsed[key] = parse_file(path, _display(path, self.cwd))
        return self._parsed[key]

    def missing(self, name: str) -> None:
        msg = f'The "{name}" variable is not set. Defaulting to a blank string.'
        if msg not in self.warnings:
            self.warnings.append(msg)

    def read(self, path: Path, base: str, env: Mapping[str, str]) -> dict:
        """Parse, validate, interpolate and canonicalise one file (all its documents merged)."""
        key = (str(path), base)
        if key in self._cache:
            return self._cache[key]
        display = _display(path, self.cwd)
        docs, positions = self.parse(path)
        self.positions.append(positions)
        result: dict = {}
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise BridgeError("top-level element must be a mapping", display, 1, 1)
            validate_schema(doc, display, positions)
            if "version" in doc:  # docker compose's own words
                self.warnings.append(f"{display}: the attribute `version` is obsolete, it will be ignored, "
                                     f"please remove it to avoid potential confusion")
            if self.opts.interpolate:
                doc = interpolate_tree(doc, _Recorded(env, self.interpolated), display, positions, self.missing)
            ctx = Ctx(display, base, positions)
            doc = canonical_document(doc, ctx)
            doc = self.apply_extends(doc, ctx, env, path)
            result = merge(result, doc) if result else doc
        if not docs or all(d is None for d in docs):
            raise BridgeError("empty compose file", display)
        self._cache[key] = result
        return result

    def apply_extends(self, doc: dict, ctx: Ctx, env: Mapping[str, str], path: Path) -> dict:
        services = doc.get("services")
        if not isinstance(services, dict) or not any(
            isinstance(s, dict) and "extends" in s for s in services.values()
        ):
            return doc
        resolved: dict[str, Any] = {}
        out = dict(doc)
        out["services"] = {
            name: self._extend(name, services, ctx, env, path, resolved, []) for name in services
        }
        return out

    def _extend(
        self, name: str, services: dict, ctx: Ctx, env: Mapping[str, str], path: Path,
        resolved: dict, trail: list[tuple[str, str]],
    ) -> Any:
        if name in resolved:
            return resolved[name]
        svc = services[name]
        if not isinstance(svc, dict) or "extends" not in svc:
            resolved[name] = svc
            return svc
        spec = strip_tags(svc["extends"])
        if not isinstance(spec, dict) or not isinstance(spec.get("service"), str):
            raise ctx.error("extends needs a service name", ("services", name, "extends"))
        here = (str(path), name)
        if here in trail:
            chain = " -> ".join(f"{s}" for _, s in trail + [here])
            raise ctx.error(f"extends cycle detected: {chain}", ("services", name, "extends"))
        target = spec["service"]
        if spec.get("file"):
            other = Path(spec["file"])
            other_doc = self.read(other, str(other.parent), env)
            other_services = other_doc.get("services") or {}
            if target not in other_services:
                raise ctx.error(
                    f'cannot extend service "{name}": service "{target}" not found in {_display(other, self.cwd)}',
                    ("services", name, "extends"),
                )
            other_ctx = Ctx(_display(other, self.cwd), str(other.parent), None)
            base = self._extend(target, other_services, other_ctx, env, other, {}, trail + [here])
        else:
            if target not in services:
                raise ctx.error(
                    f'cannot extend service "{name}": service "{target}" not found',
                    ("services", name, "extends"),
                )
            base = self._extend(target, services, ctx, env, path, resolved, trail + [here])
        own = {k: v for k, v in svc.items() if k != "extends"}
        base = strip_tags(base) if isinstance(base, dict) else {}
        merged = merge(base, own, ("services", name))
        resolved[name] = merged
        return merged

    def include(self, doc: dict, working_dir: str, env: Mapping[str, str], seen: list[str], display: str) -> dict:
        items = doc.get("include")
        if not items:
            return doc
        merged: dict = {}
        for i, item in enumerate(strip_tags(items)):
            if isinstance(item, str):
                item = {"path": item}
            paths = item.get("path")
            paths = [paths] if isinstance(paths, str) else list(paths or [])
            if not paths:
                raise BridgeError("include entry needs a path", display, path=("include", i))
            files = [Path(os.path.normpath(os.path.join(working_dir, p))) for p in paths]
            for f in files:
                if str(f) in seen:
                    raise BridgeError(
                        "include cycle detected: " + " -> ".join(seen + [str(f)]), display, path=("include", i)
                    )
            sub_dir = item.get("project_directory")
            sub_dir = os.path.normpath(os.path.join(working_dir, sub_dir)) if sub_dir else str(files[0].parent)
            env_files = item.get("env_file")
            if isinstance(env_files, str):
                env_files = [env_files]
            sub_env = dict(self.environ)
            candidates = (
                [Path(os.path.join(working_dir, e)) for e in env_files] if env_files else [Path(sub_dir) / ".env"]
            )
            for env_path in candidates:
                if env_path.is_file():
                    for k, v in read_env_file(env_path, _display(env_path, self.cwd), lookup=sub_env).items():
                        if v is not None:
                            sub_env.setdefault(k, v)
                elif env_files:
                    raise BridgeError("env file not found", _display(env_path, self.cwd), path=("include", i))
            sub: dict = {}
            for f in files:
                part = self.read(f, sub_dir, sub_env)
                part = self.include(part, sub_dir, sub_env, seen + [str(f)], _display(f, self.cwd))
                sub = merge(sub, part) if sub else part
            sub = self.resolve_env_files(sub, sub_env, working_dir)
            for kind in ("services", "volumes", "networks", "secrets", "configs", "models"):
                for key, value in (sub.get(kind) or {}).items():
                    mine = (merged.get(kind) or {}).get(key)
                    if mine is not None and mine != value:
                        raise BridgeError(
                            f"imported compose file {_display(files[0], self.cwd)} defines conflicting {kind[:-1]} {key}",
                            display, path=(kind, key),
                        )
                    merged.setdefault(kind, {})[key] = value
        out = {k: v for k, v in doc.items() if k != "include"}
        for kind, entries in merged.items():
            own = out.get(kind) or {}
            for key, value in entries.items():
                if key in own and own[key] != value:
                    raise BridgeError(
                        f"services.{key} conflicts with imported resource" if kind == "services"
                        else f"{kind}.{key} conflicts with imported resource",
                        display, path=(kind, key),
                    )
            out[kind] = {**entries, **own}
        return out

    def resolve_env_files(self, doc: dict, env: Mapping[str, str], working_dir: str) -> dict:
        """Fold `env_file` into `environment`; resolve value-less entries from the environment. Env files
        are read only from the project's tree (sources.py): their values go into the chart."""
        root = content_root(working_dir)
        services = doc.get("services") or {}
        new_services = {}
        for name, svc in services.items():
            if not isinstance(svc, dict):
                new_services[name] = svc
                continue
            svc = dict(svc)
            build = svc.get("build")
            if isinstance(build, dict) and isinstance(build.get("args"), dict):
                args = {k: (env.get(k) if v is None else v) for k, v in build["args"].items()}
                svc["build"] = {**build, "args": {k: v for k, v in args.items() if v is not None}}
            files = svc.pop("env_file", None) or []
            if not files and "environment" not in svc:
                new_services[name] = svc
                continue
            values: dict[str, str | None] = {}
            for i, spec in enumerate(files):
                p = Path(spec["path"])
                if is_system(p):
                    file, line, col = locate(self.positions, ("services", name, "env_file", i))
                    raise BridgeError(f"env file {spec['path']} is a system path: it holds the converting machine's "
                                      f"data, not the app's", file, line, col, ("services", name, "env_file", i))
                if p.exists() and not is_inside(p, root):
                    self.warnings.append(f"env file {spec['path']} of service {name} is outside the project ({root}): "
                                         f"its values are copied into the chart's values")
                if not p.exists():
                    if spec.get("required", True):
                        shown = spec["path"]
                        file, line, col = locate(self.positions, ("services", name, "env_file"))
                        raise BridgeError(f"env file {shown} not found", file, line, col, ("services", name, "env_file", i))
                    continue
                raw = spec.get("format") == "raw"
                found = read_env_file(p, _display(p, self.cwd), lookup=env, raw=raw)
                for k, v in found.items():
                    if v is None:
                        if k in env:
                            values[k] = env[k]
                    else:
                        values[k] = v
            for k, v in (svc.get("environment") or {}).items():
                values[k] = v
            resolved: dict[str, str | None] = {}
            for k, v in values.items():
                if v is None and k in env:
                    resolved[k] = env[k]
                else:
                    resolved[k] = v
            if resolved or "environment" in svc:
                svc["environment"] = resolved
            new_services[name] = svc
        out = dict(doc)
        if services:
            out["services"] = new_services
        return out


def load(opts: Options) -> Project:
    """Load, merge, normalise and check a Compose project. Raises `BridgeError` on bad input."""
    environ = dict(os.environ if opts.environ is None else opts.environ)
    cwd = opts.cwd or os.getcwd()
    paths = discover_files(opts, environ)
    if opts.project_directory:
        working_dir = os.path.normpath(os.path.join(cwd, opts.project_directory))
    else:
        working_dir = str(paths[0].parent)
    env = project_environment(working_dir, opts, environ, cwd)
    loader = _Loader(opts, env, cwd)
    pname = _project_name(opts, env, paths, working_dir, loader)
    env.setdefault("COMPOSE_PROJECT_NAME", pname)
    data: dict = {}
    for path in paths:
        doc = loader.read(path, working_dir, env)
        doc = loader.include(doc, working_dir, env, [str(path)], _display(path, cwd))
        data = merge(data, doc) if data else doc
    data = strip_tags(data)
    data = {k: v for k, v in data.items() if k != "include"}
    if not isinstance(data.get("services"), dict):
        data["services"] = {}
    data.pop("version", None)
    data["name"] = pname
    profiles = list(opts.profiles)
    if not profiles and env.get("COMPOSE_PROFILES"):
        profiles = [p.strip() for p in env["COMPOSE_PROFILES"].split(",") if p.strip()]
    data = apply_profiles(data, profiles)
    data = loader.resolve_env_files(data, env, working_dir)
    data = finalize(data, pname)
    project = Project(data, working_dir, [str(p) for p in paths], env, loader.positions, loader.warnings,
                      dict(sorted(loader.interpolated.items())))
    check_project(data, project.locate)
    return project


def _project_name(opts: Options, env: Mapping[str, str], paths: list[Path], working_dir: str, loader: _Loader) -> str:
    """-p, then COMPOSE_PROJECT_NAME, then the last file's `name:` (interpolated), then the directory."""
    name = opts.project_name or env.get("COMPOSE_PROJECT_NAME")
    if not name:
        for path in paths:
            docs, _ = loader.parse(path)
            for doc in docs:
                if isinstance(doc, dict) and isinstance(doc.get("name"), str):
                    name = doc["name"]
                    if opts.interpolate:
                        try:
                            name = interpolate_tree(name, env, str(path))
                        except BridgeError:
                            pass
    if not name:
        name = os.path.basename(working_dir)
    pname = normalize_project_name(str(name))
    if not pname:
        raise UsageError(f"project name {name!r} must contain at least one letter or digit")
    return pname


def apply_profiles(data: dict, profiles: list[str]) -> dict:
    """Keep services without profiles and those with an enabled profile (`*` enables all). With none
    given, the enabled profiles are [""] (docker compose splits an empty COMPOSE_PROFILES), so a service
    with `profiles: [""]` runs by default."""
    services = data.get("services") or {}
    enabled = set(profiles) or {""}
    keep = {}
    for name, svc in services.items():
        own = (svc or {}).get("profiles") or []
        if not own or "*" in enabled or enabled.intersection(own):
            keep[name] = svc
    out = dict(data)
    out["services"] = keep
    return out


def finalize(data: dict, project: str) -> dict:
    """Resource names, the default network, and each service's network attachment."""
    services = data.get("services") or {}
    networks = dict(data.get("networks") or {})
    uses_default = False
    for name, svc in services.items():
        svc = dict(svc or {})
        implicit_dependencies(svc)
        for key, value in list(svc.items()):
            if isinstance(value, list):
                svc[key] = unique(("services", name, key), value)

        if not svc.get("network_mode") and not svc.get("networks") and not svc.get("provider"):
            svc["networks"] = {"default": None}  # provider services run no container: no network
        if "default" in (svc.get("networks") or {}):
            uses_default = True
        services[name] = svc
    if uses_default and "default" not in networks:
        networks["default"] = {}
    for key, spec in list(networks.items()):
        spec = dict(spec or {})
        if not spec.get("name"):
            spec["name"] = key if spec.get("external") else f"{project}_{key}"
        networks[key] = spec
    out = dict(data)
    out["services"] = services
    if networks:
        out["networks"] = networks
    for kind in ("volumes", "secrets", "configs"):
        if kind not in data:
            continue
        entries = {}
        for key, spec in (data.get(kind) or {}).items():
            spec = dict(spec or {})
            if not spec.get("name"):
                spec["name"] = key if spec.get("external") else f"{project}_{key}"
            entries[key] = spec
        out[kind] = entries
    return out


def implicit_dependencies(svc: dict) -> None:
    """`links`, `volumes_from` and `service:` namespaces imply `depends_on`, as in Compose."""
    deps = dict(svc.get("depends_on") or {})
    added = False

    def add(name: str, restart: bool) -> None:
        nonlocal added
        if name and name not in deps:
            spec: dict[str, Any] = {"condition": "service_started", "required": True}
            if restart:
                spec = {"condition": "service_started", "restart": True, "required": True}
            deps[name] = spec
            added = True

    for link in svc.get("links") or []:
        add(str(link).split(":", 1)[0], True)
    for key in ("network_mode", "ipc", "pid", "uts", "cgroup"):
        value = svc.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            add(value[len("service:"):], True)
    for vol in svc.get("volumes_from") or []:
        if not str(vol).startswith("container:"):
            add(str(vol).split(":", 1)[0], False)
    if added:
        svc["depends_on"] = deps
