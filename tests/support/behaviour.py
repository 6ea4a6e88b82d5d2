"""The behavioural oracle: does the rendered chart give the app what `docker compose up` gives it?

Input: the canonical project as the real `docker-compose config --format json` prints it, the objects
`helm template` renders, the project directory (for the bytes of mounted files) and bridge's warnings.
Output: one Finding per thing a cluster would run differently from compose, by kind:

- unresolved-name: a service uses another's compose name (in env, command, entrypoint, healthcheck or
  a mounted file) and no Service of that name selects that service's pods;
- port-not-served: a referenced port on a Service that is not headless and lacks it, or a declared
  (`ports`/`expose`) or published port no container or Service serves;
- file-not-in-chart: a project file or directory is mounted but its bytes are not at that path;
- data-not-on-pvc: a named volume or a bind-mounted data path is not on a PersistentVolumeClaim;
- oneshot-not-job / dependent-not-gated / dependency-not-gated: one-shots must be Jobs that their
  dependents wait for, other depends_on entries must be waited on;
- env-differs / command-differs: what the container gets after the kubelet's `$(VAR)`/`$$` expansion
  differs from what compose passes;
- probe-timing: a healthcheck's interval, timeout or retries not carried over;
- key-unmapped: a compose key with no Kubernetes equivalent that bridge did not warn about;
- shared-dir-split: a directory several services bind-mount as data is more than one claim (compose
  shares one directory);
- claim-at-root: a claim mounted at a data directory by its root (a fresh cloud volume's root holds
  lost+found, which databases refuse to initialise over);
- user-path-dropped: a bind mount of the user's own path outside the project (`~/.flowise`) is not on a
  claim (only the host's own paths may be left to hostPath);
- claim-not-writable: a container mounts a claim read-write that nothing makes its user's: no init
  container seeds it as root (Docker's copy-up, which gives a new volume the image directory's owner) and
  the pod sets no fsGroup, so an image that runs as another user (uid 1000, 472, 10001) cannot write a
  fresh, root-owned cloud volume;
- provider-option-dropped: an option of a `provider: {type: model}` service that DMR's compose plugin
  applies (model, context size, runtime flags, speculative decoding) is not in the runner's values
  (models pulled, `configure`), and bridge did not warn about it;
- secret-in-values: a value whose variable name says secret (PASSWORD, SECRET, TOKEN, KEY, PASS,
  CREDENTIAL) is written in the chart: a literal `value` in a container's env, or a non-empty entry in
  values.yaml (charts get committed and published).

Environment entries read from a Secret (`secretKeyRef`) are compared with the rendered Secret's data.

Names Kubernetes cannot hold are not findings when bridge warned about them (they are listed as
`warned-name` in the report). The checks read manifests the way the API server and kubelet would;
they share nothing with bridge's builders except the label encoding and the key table.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.keys import SERVICE_KEYS, WARN
from bridge.naming import dns_label, label_value
from bridge.units import duration_seconds, parse_duration

FINDING_KINDS = (
    "unresolved-name", "port-not-served", "file-not-in-chart", "data-not-on-pvc", "oneshot-not-job",
    "dependent-not-gated", "dependency-not-gated", "env-differs", "command-differs", "probe-timing",
    "key-unmapped", "shared-dir-split", "user-path-dropped", "claim-at-root", "claim-not-writable",
    "secret-in-values", "provider-option-dropped",
)
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|PASS|CREDENTIAL", re.IGNORECASE)
MAX_SCANNED_FILE = 256 * 1024
SCHEME_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "redis": 6379, "postgres": 5432,
                "postgresql": 5432, "mysql": 3306, "mongodb": 27017, "amqp": 5672}


@dataclass(frozen=True, order=True)
class Finding:
    kind: str
    service: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.service}: {self.detail}"


def unescape(value: Any) -> Any:
    """`docker compose config` writes a literal `$` as `$$`; the container gets one `$`."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [unescape(v) for v in value]
    return value


def kubelet_expand(text: str, env: dict[str, str]) -> str:
    """What the kubelet makes of a command, arg or env value: `$$` -> `$`, `$(NAME)` -> NAME's value
    when NAME is defined earlier, anything else as written."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("$(", i):
            end = text.find(")", i + 2)
            name = text[i + 2:end] if end != -1 else None
            if name is not None and name in env:
                out.append(env[name])
                i = end + 1
            else:
                out.append("$(")
                i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def host_reference(name: str) -> re.Pattern[str]:
    n = re.escape(name)
    return re.compile(rf"(?:^|[/@=,\s(\"']){n}(?=$|[:/,\s)?\"';])")


def compose_names(services: dict[str, dict]) -> dict[str, list[str]]:
    """service -> every name it answers to on a compose network."""
    names = {s: [s] for s in services}
    for sname, svc in services.items():
        for net in (svc.get("networks") or {}).values():
            for alias in (net or {}).get("aliases") or []:
                names[sname].append(str(alias))
        for key in ("container_name", "hostname"):
            if svc.get(key):
                names[sname].append(str(svc[key]))
    for svc in services.values():
        for link in svc.get("links") or []:
            target, _, alias = str(link).partition(":")
            if target in names:
                names[target].append(alias or target)
    return {s: list(dict.fromkeys(n)) for s, n in names.items()}


class Manifests:
    """The rendered objects, indexed the way the checks look them up."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs
        self.workloads: dict[str, dict] = {}
        for d in docs:
            if d.get("kind") in ("Deployment", "DaemonSet", "StatefulSet", "Job"):
                service = ((d.get("metadata") or {}).get("labels") or {}).get("com.docker.compose.service")
                if service is not None and not service.startswith("model-runner"):
                    self.workloads.setdefault(service, d)
        self.services = [d for d in docs if d.get("kind") == "Service"]
        self.configmaps = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ConfigMap"}
        self.secrets = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Secret"}

    def env_value(self, entry: dict) -> str | None:
        """What the kubelet sets a container's env entry to (before $(VAR) expansion): its value, or the
        Secret key it references; None when that Secret or key is not in the chart."""
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref is None:
            return entry.get("value", "")
        import base64

        data = (self.secrets.get(ref["name"]) or {}).get("data") or {}
        return base64.b64decode(data[ref["key"]]).decode() if ref["key"] in data else None

    def workload(self, service: str) -> dict | None:
        return self.workloads.get(label_value(service))

    @staticmethod
    def pod(workload: dict) -> dict:
        return workload["spec"]["template"]

    def selecting(self, workload: dict) -> list[dict]:
        labels = (self.pod(workload).get("metadata") or {}).get("labels") or {}
        out = []
        for svc in self.services:
            selector = (svc.get("spec") or {}).get("selector") or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                out.append(svc)
        return out

    def configmap_bytes(self, name: str, key: str) -> bytes | None:
        cm = self.configmaps.get(name)
        if cm is None:
            return None
        if key in (cm.get("data") or {}):
            return cm["data"][key].encode()
        if key in (cm.get("binaryData") or {}):
            import base64

            return base64.b64decode(cm["binaryData"][key])
        return None


def _seeded(pod: dict, volume: str) -> bool:
    """An init container that runs as root with the right to chown mounts `volume`."""
    for c in pod.get("initContainers") or []:
        sc = c.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        may_chown = "CHOWN" in (caps.get("add") or []) or "ALL" not in (caps.get("drop") or [])
        if sc.get("runAsUser") == 0 and may_chown and any(mt["name"] == volume for mt in c.get("volumeMounts") or []):
            return True
    return False


def provider_findings(project: dict, values: dict, warnings: list[str]) -> list[Finding]:
    """provider-option-dropped: each option of a model provider service reaches the runner's values
    (read as DMR's compose plugin reads them), or was warned about."""
    runner = values.get("modelRunner") or {}
    out: list[Finding] = []
    for name, svc in (project.get("services") or {}).items():
        provider = svc.get("provider") or {}
        if provider.get("type") != "model":
            continue
        options = {k: (v[0] if isinstance(v, list) and v else v) for k, v in (provider.get("options") or {}).items()}
        model = str(options.get("model") or "")
        item = next((c for c in runner.get("configure") or [] if c.get("model") == model), {})
        spec = item.get("speculative") or {}
        wanted = {
            "model": model in (runner.get("models") or []),
            "context-size": item.get("contextSize") == int(options.get("context-size") or 0),
            "runtime-flags": item.get("runtimeFlags") == str(options.get("runtime-flags") or "").split(),
            "speculative-draft-model": spec.get("draftModel") == options.get("speculative-draft-model")
            and options.get("speculative-draft-model") in (runner.get("models") or []),
            "speculative-num-tokens": spec.get("numTokens") == int(options.get("speculative-num-tokens") or 0),
            "speculative-min-acceptance-rate":
                float(spec.get("minAcceptanceRate") or 0) == float(options.get("speculative-min-acceptance-rate") or 0),
        }
        for key in options:
            carried = wanted.get(key, False)
            if not carried and not any(w.startswith(f"service {name}: provider option {key}") for w in warnings):
                out.append(Finding("provider-option-dropped", name, f"{key}={options[key]!r} reaches no runner value"))
    return out


def values_findings(values: dict) -> list[Finding]:
    """secret-in-values in values.yaml: a non-empty string under a key (or an env entry `name`) that says secret."""
    out: list[Finding] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            name = node.get("name") if isinstance(node.get("name"), str) else None
            if name and SECRET_NAME.search(name) and isinstance(node.get("value"), str) and node["value"]:
                out.append(Finding("secret-in-values", path, f"{name} has a value in values.yaml"))
            for k, v in node.items():
                # variable-style keys (an env map) and envSecrets.values; the chart's camelCase keys
                # (topologyKey, existingSecret) and annotation keys (x.io/tls-secret) name no secret value
                variable = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(k)) and not re.search(r"[a-z][A-Z]|^key$", str(k))
                if isinstance(v, str) and v and (path == "envSecrets.values" or (variable and SECRET_NAME.search(str(k)))):
                    out.append(Finding("secret-in-values", path, f"{k} has a value in values.yaml"))
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(values, "")
    return out


def _texts(svc: dict, project_dir: Path) -> list[str]:
    texts = [str(v) for v in (svc.get("environment") or {}).values() if v is not None]
    for key in ("command", "entrypoint"):
        texts += [str(v) for v in svc.get(key) or []]
    texts += [str(v) for v in ((svc.get("healthcheck") or {}).get("test") or [])]
    for vol in svc.get("volumes") or []:
        if vol.get("type") != "bind":
            continue
        src = Path(str(vol.get("source") or ""))
        if not _inside(src, project_dir):
            continue  # host paths are not the app's own files
        for path in ([src] if src.is_file() else sorted(src.rglob("*"))[:500] if src.is_dir() else []):
            if path.is_file() and path.stat().st_size <= MAX_SCANNED_FILE:
                try:
                    texts.append(path.read_text())
                except (UnicodeDecodeError, OSError):
                    pass
    return [unescape(t) for t in texts]


# Paths of the host itself, as Docker users bind them; any other path is the user's.
HOST_PREFIXES = ("/proc", "/sys", "/dev", "/run", "/var/run", "/var/log", "/var/lib/docker", "/etc", "/lib/modules",
                 "/usr/share/zoneinfo", "/tmp/.X11-unix", "/boot")


def _host_path(path: Path) -> bool:
    text = str(path)
    return text == "/" or any(text == p or text.startswith(p + "/") for p in HOST_PREFIXES)


def _inside(path: Path, project_dir: Path) -> bool:
    try:
        resolved, root = path.resolve(), project_dir.resolve()
    except OSError:
        return False
    return resolved == root or root in resolved.parents


def _seconds(value: Any, default: int) -> int:
    return max(1, duration_seconds(parse_duration(value))) if value else default


def check(project: dict, docs: list[dict], project_dir: Path, warnings: list[str],
          stats: Counter[str] | None = None) -> tuple[list[Finding], list[str]]:
    """(findings, names bridge warned it cannot represent); `stats` counts what was checked."""
    seen: Counter[str] = stats if stats is not None else Counter()
    m = Manifests(docs)
    all_services: dict[str, dict] = project.get("services") or {}
    services = {n: s for n, s in all_services.items() if not s.get("provider")}
    names = compose_names(services)
    findings: list[Finding] = []
    warned: list[str] = []

    def add(kind: str, service: str, detail: str) -> None:
        findings.append(Finding(kind, service, detail))

    # network_mode: service:X -- compose runs the service in X's network namespace: a container in X's pod.
    def root_of(name: str) -> str:
        seen = {name}
        while str(services[name].get("network_mode") or "").startswith("service:"):
            target = str(services[name]["network_mode"])[len("service:"):]
            if target not in services or target in seen:
                break
            seen.add(target)
            name = target
        return name

    workloads = {}
    containers: dict[str, dict] = {}
    for name in services:
        w = m.workload(root_of(name))
        pod_containers = m.pod(w)["spec"]["containers"] if w else []
        mine = [c for c in pod_containers if c["name"] == dns_label(name)] or pod_containers[:1]
        if w is None or (root_of(name) != name and not mine[0]["name"] == dns_label(name)):
            add("dependency-not-gated", name, "no workload runs this service")
        else:
            workloads[name] = w
            containers[name] = mine[0]

    # Names and ports other services use.
    for sname, svc in services.items():
        texts = _texts(svc, project_dir)
        for tname, tnames in names.items():
            if tname not in workloads:
                continue
            for n in tnames:
                pattern = host_reference(n)
                if not any(pattern.search(t) for t in texts):
                    continue
                seen["name references"] += 1
                resolving = [s for s in m.selecting(workloads[tname]) if s["metadata"]["name"] == n]
                if not resolving:
                    if any(f"the name {n!r} cannot be a Kubernetes Service name" in w for w in warnings):
                        warned.append(f"{sname} -> {n}")
                    else:
                        add("unresolved-name", sname, f"uses {n!r} (service {tname}), which resolves to no Service "
                                                      f"selecting {tname}'s pods")
                    continue
                target = resolving[0]
                if target["spec"].get("clusterIP") != "None":
                    served = {p["port"] for p in target["spec"].get("ports") or []}
                    for t in texts:
                        used = [int(p) for p in re.findall(rf"(?:^|[/@=,\s]){re.escape(n)}:(\d+)", t)]
                        # a URL without a port uses its scheme's (http://web/ is web:80)
                        used += [SCHEME_PORTS[s] for s in re.findall(
                            rf"\b(https?|wss?|redis|postgres(?:ql)?|mysql|mongodb|amqp)://(?:[^@/\s]*@)?{re.escape(n)}"
                            rf"(?=$|[/?#\s\"',;)])", t)]
                        for port in used:
                            if port not in served:
                                add("port-not-served", sname, f"{n}:{port} but Service {n} serves {sorted(served)}")

    claims_of_dir: dict[str, dict[str, str]] = {}  # a bind-mounted data directory -> service -> its claim
    for sname, svc in services.items():
        w = workloads.get(sname)
        if w is None:
            continue
        pod = m.pod(w)["spec"]
        container = containers[sname]
        # Declared and published ports.
        cports = {(p["containerPort"], p.get("protocol", "TCP")) for p in container.get("ports") or []}
        selecting = m.selecting(w)
        for p in svc.get("ports") or []:
            seen["declared ports"] += 1
            proto = str(p.get("protocol") or "tcp").upper()
            target = int(p["target"])
            if (target, proto) not in cports:
                add("port-not-served", sname, f"declared port {target}/{proto} is no containerPort")
            published = str(p.get("published") or "")
            if published.isdigit() and not any(
                    sp["port"] == int(published) and sp.get("protocol", "TCP") == proto
                    for s in selecting for sp in s["spec"].get("ports") or []):
                add("port-not-served", sname, f"published port {published}/{proto} is on no Service")
        for e in svc.get("expose") or []:
            port = str(e).split("/")[0].split("-")[0]
            if port.isdigit() and not any(cp[0] == int(port) for cp in cports):
                add("port-not-served", sname, f"exposed port {port} is no containerPort")

        # Mounts.
        mounts = {mt["mountPath"]: mt for mt in container.get("volumeMounts") or []}
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        for mt in container.get("volumeMounts") or []:
            if "persistentVolumeClaim" in volumes.get(mt["name"], {}) and not mt.get("readOnly"):
                seen["claims mounted read-write"] += 1
                fs_group = (pod.get("securityContext") or {}).get("fsGroup")
                if fs_group is None and not _seeded(pod, mt["name"]):
                    add("claim-not-writable", sname, f"claim {volumes[mt['name']]['persistentVolumeClaim']['claimName']}"
                        f" at {mt['mountPath']}: a fresh volume is root's, and nothing gives it to the image's user")
        for vol in svc.get("volumes") or []:
            target = vol.get("target")
            mount = mounts.get(target)
            volume = volumes.get(mount["name"]) if mount else None
            seen[f"{vol.get('type')} mounts"] += 1
            if vol.get("type") == "volume" and vol.get("source"):
                external = ((project.get("volumes") or {}).get(vol["source"]) or {}).get("external")
                if volume is None or "persistentVolumeClaim" not in volume:
                    add("data-not-on-pvc", sname, f"volume {vol['source']} at {target}")
                elif not (mount or {}).get("subPath") and not external:
                    add("claim-at-root", sname, f"volume {vol['source']} at {target}: a fresh volume's lost+found "
                                                f"is in the data directory")
            elif vol.get("type") == "bind":
                src = Path(str(vol.get("source") or ""))
                if not _inside(src, project_dir):
                    if not _host_path(src) and (volume is None or "persistentVolumeClaim" not in volume):
                        add("user-path-dropped", sname, f"{src} at {target} is the user's data, not on a claim")
                    continue  # a host path: hostPath on request, warned otherwise
                warned_mount = any(f"bind mount {src} -> {target}" in w for w in warnings)
                if not src.exists() or (src.is_dir() and not any(src.iterdir())):
                    if volume is None or "persistentVolumeClaim" not in volume:
                        add("data-not-on-pvc", sname, f"data path {src} at {target}")
                    else:
                        claims_of_dir.setdefault(str(src.resolve()), {})[sname] = \
                            volume["persistentVolumeClaim"]["claimName"]
                        if not (mount or {}).get("subPath"):
                            add("claim-at-root", sname, f"data path {src} at {target}: lost+found in it")
                    continue
                if volume is not None and "persistentVolumeClaim" in volume and warned_mount:
                    claims_of_dir.setdefault(str(src.resolve()), {})[sname] = volume["persistentVolumeClaim"]["claimName"]
                    continue  # a data directory, or too big for a ConfigMap: a claim, with a warning
                if volume is None or "configMap" not in volume:
                    add("file-not-in-chart", sname, f"{src} at {target} is not mounted from the chart")
                    continue
                items = {i["path"]: i["key"] for i in volume["configMap"].get("items") or []}
                cm = volume["configMap"]["name"]
                seen["project files/dirs compared byte for byte"] += 1
                if src.is_file():
                    key = mount.get("subPath") or items.get(src.name)
                    if m.configmap_bytes(cm, key or "") != src.read_bytes():
                        add("file-not-in-chart", sname, f"{src} at {target}: bytes differ")
                else:
                    for f in sorted(p for p in src.rglob("*") if p.is_file()):
                        rel = f.relative_to(src).as_posix()
                        if rel not in items or m.configmap_bytes(cm, items[rel]) != f.read_bytes():
                            add("file-not-in-chart", sname, f"{f} at {target}/{rel}")

        # Environment and command, as the kubelet hands them to the process.
        env: dict[str, str] = {}
        for e in container.get("env") or []:
            value = m.env_value(e)
            if value is None:
                add("env-differs", sname, f"{e['name']}: its Secret key is not in the chart")
                continue
            # a Secret's value is not expanded by the kubelet; a literal value is
            env[e["name"]] = value if "valueFrom" in e else kubelet_expand(value, env)
            if "value" in e and e["value"] and SECRET_NAME.search(e["name"]):
                add("secret-in-values", sname, f"env {e['name']} is written in the chart")
        # `docker compose up` adds each model's variables, over any of the same name.
        model_vars = set()
        for key, binding in (svc.get("models") or {}).items():
            prefix = key.upper().replace("-", "_")
            model_vars |= {(binding or {}).get("endpoint_var") or f"{prefix}_URL",
                           (binding or {}).get("model_var") or f"{prefix}_MODEL"}
        for var in sorted(model_vars - set(env)):
            add("env-differs", sname, f"model variable {var} missing")
        for key, value in (svc.get("environment") or {}).items():
            if value is None or key in model_vars:
                continue
            seen["env values"] += 1
            if env.get(key) != unescape(str(value)):
                add("env-differs", sname, f"{key}: compose {unescape(str(value))!r}, container {env.get(key)!r}")
        for compose_key, k8s_key in (("entrypoint", "command"), ("command", "args")):
            want = unescape(svc.get(compose_key))
            if want is None:
                continue
            got = [kubelet_expand(str(a), env) for a in container.get(k8s_key) or []]
            if got != list(want) and not (compose_key == "entrypoint" and want == [] and not got):
                add("command-differs", sname, f"{compose_key}: compose {want!r}, container {k8s_key} {got!r}")

        # Healthcheck timings.
        hc = svc.get("healthcheck") or {}
        test = hc.get("test") or []
        if test and test[0] != "NONE" and not hc.get("disable"):
            seen["healthchecks"] += 1
            probe = container.get("readinessProbe") or {}
            wanted = {"periodSeconds": _seconds(hc.get("interval"), 30), "timeoutSeconds": _seconds(hc.get("timeout"), 30),
                      "failureThreshold": int(hc.get("retries") or 3)}
            got = {k: probe.get(k) for k in wanted}
            if got != wanted:
                add("probe-timing", sname, f"healthcheck {wanted}, readinessProbe {got}")
            if "livenessProbe" in container:
                add("probe-timing", sname, "a livenessProbe restarts the container; compose never does")
            startup = container.get("startupProbe")
            budget = _seconds(hc.get("start_period"), 0) + wanted["failureThreshold"] * wanted["periodSeconds"]
            if startup and startup["periodSeconds"] * startup["failureThreshold"] < budget:
                add("probe-timing", sname, f"the startupProbe restarts the container after "
                    f"{startup['periodSeconds'] * startup['failureThreshold']}s; compose calls it unhealthy after "
                    f"{budget}s and never restarts it")

        # Compose keys with no Kubernetes equivalent must have warned.
        for key in svc:
            kind = SERVICE_KEYS.get(key, ("", "", None))[0]
            if kind == WARN and not any(w.startswith(f"service {sname}: {key} ") for w in warnings):
                add("key-unmapped", sname, f"{key} is neither mapped nor warned about")

    # depends_on: one-shots are Jobs their dependents wait for; other dependencies are waited on.
    # One directory several services mount is one volume in compose: one claim here.
    for directory, by_service in sorted(claims_of_dir.items()):
        if len(set(by_service.values())) > 1:
            add("shared-dir-split", ",".join(sorted(by_service)), f"{directory} is {len(set(by_service.values()))} "
                f"claims ({', '.join(sorted(set(by_service.values())))}); compose shares one directory")
    oneshots = {dep for svc in services.values() for dep, spec in (svc.get("depends_on") or {}).items()
                if (spec or {}).get("condition") == "service_completed_successfully"}
    for dep in sorted(oneshots & set(workloads)):
        if workloads[dep]["kind"] != "Job":
            add("oneshot-not-job", dep, f"a {workloads[dep]['kind']} restarts it after it exits")
    for sname, svc in services.items():
        w = workloads.get(sname)
        if w is None:
            continue
        inits = m.pod(w)["spec"].get("initContainers") or []
        envs = [{e["name"]: e.get("value") for e in c.get("env") or []} for c in inits]
        for dep, spec in (svc.get("depends_on") or {}).items():
            spec = spec or {}
            if dep not in workloads or spec.get("required") is False or root_of(dep) == root_of(sname):
                continue  # (a dependency in the same pod starts with it)
            seen["depends_on entries"] += 1
            if dep in oneshots:
                seen["one-shot dependents"] += 1
                job = workloads[dep]["metadata"]["name"]
                if not any(e.get("JOB") == job for e in envs):
                    add("dependent-not-gated", sname, f"starts before one-shot {dep} (Job {job}) completed")
            elif not any(e.get("WHAT") == dep for e in envs):
                add("dependency-not-gated", sname, f"starts without waiting for {dep} ({spec.get('condition')})")
    return sorted(set(findings)), warned
