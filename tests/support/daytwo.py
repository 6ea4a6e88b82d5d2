"""The day-two oracle: what the API server, the kubelet and the controllers do with a chart after the
first install. It reads `helm template` output of a release before and after an upgrade, and of
releases installed beside each other, and reports one Finding per thing that would break:

- immutable-field: an upgrade changes a field the API server refuses to change (workload selectors;
  StatefulSet fields other than replicas, template, updateStrategy, ordinals,
  persistentVolumeClaimRetentionPolicy, minReadySeconds; a Job's template under the same name; a
  PVC's spec other than its size; a Service's clusterIP between None and allocated);
- recreate-without-null: a `Recreate` Deployment without `rollingUpdate: null` (Helm 3's three-way
  patch keeps the live rollingUpdate block and the API server rejects the upgrade, helm/helm#5144);
- name-collision: two releases (or two apps) render an object of one kind and name;
- service-links: a pod without `enableServiceLinks: false` (Kubernetes would set `<SVC>_PORT=tcp://...`
  variables compose never sets);
- no-checksum: a pod mounts a ConfigMap or Secret of the chart without a `checksum/...` annotation (a
  changed file would never reach running pods);
- open-network-policy: a NetworkPolicy admits every source on a port compose does not publish;
- runner-unserved: the runner on Docker's `docker/model-runner` image is probed on, or fed with,
  something that image does not serve (only `GET /engines/status`, `GET /models[/NAME]`; no `MODELS`
  variable), or nothing pulls its models;
- gpu-cpu-image: a runner with a GPU limit on a CPU image, or without a toleration for the GPU taint;
- pvc-not-kept: a claim holding compose data (a named volume or a bind-mounted data path) that
  `helm uninstall` would delete (no `helm.sh/resource-policy: keep`; `docker compose down` keeps them).

It shares nothing with bridge's code: it reads manifests as the cluster would.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

KINDS = ("immutable-field", "recreate-without-null", "name-collision", "service-links", "no-checksum",
         "open-network-policy", "runner-unserved", "gpu-cpu-image", "pvc-not-kept")
WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet", "Job")
STATEFULSET_MUTABLE = {"replicas", "template", "updateStrategy", "ordinals", "persistentVolumeClaimRetentionPolicy",
                       "minReadySeconds"}
DMR_IMAGE = "docker/model-runner"
DMR_GET_PATHS = ("/engines/status", "/models")
OUR_RUNNER_ENV = {"MODELS", "MODELS_CONFIGURE"}  # read by this project's runner only
GPU_RESOURCES = {"nvidia.com/gpu": "cuda", "amd.com/gpu": "rocm"}


@dataclass(frozen=True, order=True)
class Finding:
    kind: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}: {self.detail}"


def _ident(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def pod_spec(doc: dict) -> dict | None:
    if doc["kind"] in WORKLOADS:
        return doc["spec"]["template"]["spec"]
    return None


def upgrade_findings(before: list[dict], after: list[dict]) -> list[Finding]:
    """What the API server refuses when `after` is applied over `before` (same release)."""
    out = []
    old = {_ident(d): d for d in before}
    for doc in after:
        prev = old.get(_ident(doc))
        if prev is None:
            continue
        kind, what = doc["kind"], _ident(doc)
        spec, prev_spec = doc.get("spec") or {}, prev.get("spec") or {}
        if kind in ("Deployment", "DaemonSet", "StatefulSet") and spec.get("selector") != prev_spec.get("selector"):
            out.append(Finding("immutable-field", what, "spec.selector changes"))
        if kind == "StatefulSet":
            for key in sorted((set(spec) | set(prev_spec)) - STATEFULSET_MUTABLE):
                if spec.get(key) != prev_spec.get(key):
                    out.append(Finding("immutable-field", what, f"spec.{key} changes"))
        if kind == "Job" and spec.get("template") != prev_spec.get("template"):
            out.append(Finding("immutable-field", what, "a Job's template changes under the same name"))
        if kind == "PersistentVolumeClaim":
            strip = ({k: v for k, v in s.items() if k != "resources"} for s in (spec, prev_spec))
            if next(strip) != next(strip):
                out.append(Finding("immutable-field", what, "a claim's spec changes beyond its size"))
        if kind == "Service" and (spec.get("clusterIP") == "None") != (prev_spec.get("clusterIP") == "None"):
            out.append(Finding("immutable-field", what, "clusterIP changes between None and allocated"))
    return out


def collision_findings(*releases: tuple[str, list[dict]]) -> list[Finding]:
    """Objects two releases (or apps) in one namespace would both own."""
    owner: dict[str, str] = {}
    out = []
    for name, docs in releases:
        for doc in docs:
            ident = _ident(doc)
            if ident in owner and owner[ident] != name:
                out.append(Finding("name-collision", ident, f"rendered by {owner[ident]} and {name}"))
            owner.setdefault(ident, name)
    return out


def _published_targets(compose: dict) -> dict[str, set[int]]:
    """service -> the container ports compose publishes on the host."""
    return {name: {int(p["target"]) for p in svc.get("ports") or [] if p.get("published")}
            for name, svc in (compose.get("services") or {}).items()}


def _port_numbers(workload: dict, port: Any) -> set[int]:
    """A NetworkPolicy port (number or container port name) as container port numbers of a workload."""
    if isinstance(port, int):
        return {port}
    return {p["containerPort"] for c in pod_spec(workload)["containers"] for p in c.get("ports") or []
            if p.get("name") == port}


def _selected(docs: list[dict], selector: dict) -> list[dict]:
    labels = selector.get("matchLabels") or {}
    return [d for d in docs if pod_spec(d) is not None
            and all(d["spec"]["template"]["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())]


def release_findings(docs: list[dict], compose: dict | None = None) -> list[Finding]:
    """What goes wrong on day two with one release's objects."""
    out = []
    configs = {d["metadata"]["name"] for d in docs if d["kind"] in ("ConfigMap", "Secret")}
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        what = _ident(doc)
        if spec.get("enableServiceLinks") is not False:
            out.append(Finding("service-links", what, "the pod gets Kubernetes' <SVC>_PORT variables"))
        if doc["kind"] == "Deployment" and doc["spec"].get("strategy", {}).get("type") == "Recreate":
            strategy = doc["spec"]["strategy"]
            if "rollingUpdate" not in strategy or strategy["rollingUpdate"] is not None:
                out.append(Finding("recreate-without-null", what, "Recreate without rollingUpdate: null"))
        mounted = set()
        for vol in spec.get("volumes") or []:
            if "configMap" in vol:
                mounted.add(vol["configMap"]["name"])
            if "secret" in vol:
                mounted.add(vol["secret"]["secretName"])
            for source in (vol.get("projected") or {}).get("sources") or []:
                for key, field in (("configMap", "name"), ("secret", "name")):
                    if key in source:
                        mounted.add(source[key][field])
        annotations = doc["spec"]["template"]["metadata"].get("annotations") or {}
        checksums = [k for k in annotations if k.startswith("checksum/")]
        for name in sorted(mounted & configs):
            if not checksums:
                out.append(Finding("no-checksum", what, f"mounts {name} but carries no checksum annotation"))
                break
    if compose is not None:
        published = _published_targets(compose)
        for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
            for rule in policy["spec"].get("ingress") or []:
                if rule.get("from"):
                    continue
                for workload in _selected(docs, policy["spec"].get("podSelector") or {}):
                    service = workload["spec"]["template"]["metadata"]["labels"].get("com.docker.compose.service")
                    if service not in published:
                        continue  # not a compose service (the runner: its own policy, checked with the runner)
                    ports = rule.get("ports")
                    if not ports:
                        out.append(Finding("open-network-policy", _ident(policy), "every port is open to every source"))
                        continue
                    for port in ports:
                        extra = _port_numbers(workload, port.get("port")) - published[service]
                        if extra:
                            out.append(Finding("open-network-policy", _ident(policy),
                                               f"{service}: port {sorted(extra)} open to every source, not published"))
    for claim in (d for d in docs if d["kind"] == "PersistentVolumeClaim"):
        component = claim["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")
        kept = (claim["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") == "keep"
        if component.startswith(("data-", "bind-")) and not kept:
            out.append(Finding("pvc-not-kept", _ident(claim), "helm uninstall deletes the app's data"))
    out += runner_findings(docs)
    return sorted(set(out))


def runner_findings(docs: list[dict]) -> list[Finding]:
    out = []
    runners = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet") and d["metadata"]["name"].endswith("-model-runner")]
    for doc in runners:
        what = _ident(doc)
        spec = pod_spec(doc)
        runner = spec["containers"][0]
        image = runner["image"]
        limits = (runner.get("resources") or {}).get("limits") or {}
        for resource, variant in GPU_RESOURCES.items():
            if resource not in limits:
                continue
            if image.startswith(DMR_IMAGE + ":") and not image.split(":", 1)[1].endswith(variant):
                out.append(Finding("gpu-cpu-image", what, f"{resource} on {image}"))
            if not any(t.get("key") == resource for t in spec.get("tolerations") or []):
                out.append(Finding("gpu-cpu-image", what, f"no toleration for the {resource} taint"))
        if not image.startswith(DMR_IMAGE + ":"):
            continue
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            path = ((runner.get(probe) or {}).get("httpGet") or {}).get("path")
            if path is not None and not (path in DMR_GET_PATHS or path.startswith("/models/")):
                out.append(Finding("runner-unserved", what, f"{probe} on {path}, which {DMR_IMAGE} does not serve"))
        fed = sorted({e["name"] for e in runner.get("env") or []} & OUR_RUNNER_ENV)
        if fed:
            out.append(Finding("runner-unserved", what, f"{', '.join(fed)} only this project's runner reads"))
        pullers = [d for d in docs if d["kind"] == "Job" and "model-pull" in d["metadata"]["name"]]
        sidecars = [c for c in spec["containers"][1:] + (spec.get("initContainers") or [])
                    if "pull" in c["name"]]
        if not pullers and not sidecars:
            out.append(Finding("runner-unserved", what, "nothing pulls the models into it"))
    return out


def report(findings: list[Finding]) -> Counter[str]:
    return Counter(f.kind for f in findings)
