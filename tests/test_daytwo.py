"""Day two: what the API server, the kubelet and the controllers do with the chart after the first
install (tests/support/daytwo.py): an upgrade with every image tag changed, the chart re-converted with
another --chart-version, a second release and another app beside it, in every model-runner mode."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from chartcheck import template
from conftest import CORPUS, FIXTURES, ROOT
from daytwo import KINDS, Finding, collision_findings, release_findings, upgrade_findings
from pipeline import Converted, convert

pytestmark = pytest.mark.helm

APPS = [ROOT / "examples" / name / "compose.yaml" for name in ("chat", "rag", "agents", "shop")] + [
    FIXTURES / name / "compose.yaml" for name in ("kitchen-sink", "models", "runtime", "multi", "loader", "shared-dirs")]
RUNNER_MODES = [
    {"modelRunner.enabled": "true"},
    {"modelRunner.enabled": "true", "modelRunner.replicas": "2", "modelRunner.storage.mode": "perReplica"},
    {"modelRunner.enabled": "true", "modelRunner.replicas": "2", "modelRunner.storage.accessModes[0]": "ReadWriteMany"},
    {"modelRunner.enabled": "true", "modelRunner.gpu.enabled": "true"},
    {"modelRunner.enabled": "true", "modelRunner.gpu.enabled": "true", "modelRunner.gpu.vendor": "amd"},
]


def alias_names(converted: Converted) -> set[str]:
    """The Services named like compose names: the namespace's, guarded by a lookup that refuses a
    second owner at install (test_a_second_owner_of_a_compose_name_is_refused_clearly)."""
    return {a for s in converted.chart.services for a in s.aliases}


def day_two(files: list[Path], tmp: Path, other: Converted, env: dict | None = None) -> list[Finding]:
    first = convert(files, tmp / "v1", environ=env, cwd=files[0].parent)
    second = convert(files, tmp / "v2", environ=env, cwd=files[0].parent, chart_version="2.0.0")
    guarded = alias_names(first) | alias_names(other)
    modes = [{}] + (RUNNER_MODES if first.chart.models else [])
    findings: list[Finding] = []
    for mode in modes:
        release = template(first.path, values=mode, release="r")
        findings += release_findings(release, first.project.data)
        tags = {f"{s.key}.image.tag": "changed" for s in first.chart.services}
        findings += upgrade_findings(release, template(first.path, values={**mode, **tags}, release="r"))
        findings += upgrade_findings(release, template(second.path, values=mode, release="r"))
        beside = [("r", release), ("r2", template(first.path, values=mode, release="r2")),
                  ("other", template(other.path, values=mode, release="other"))]
        findings += [f for f in collision_findings(*beside)
                     if not (f.what.startswith("Service/") and f.what.split("/", 1)[1] in guarded)]
    return sorted(set(findings))


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    """Another converted app in the same namespace, with a db, a cache and a web of its own."""
    return convert([FIXTURES / "kitchen-sink" / "compose.yaml"], tmp_path_factory.mktemp("other") / "chart")


@pytest.mark.parametrize("app", APPS, ids=[f"{p.parent.parent.name}/{p.parent.name}" for p in APPS])
def test_day_two(app: Path, tmp_path: Path, other: Converted) -> None:
    assert [str(f) for f in day_two([app], tmp_path, other)] == []


def _realworld() -> list:
    listing = CORPUS / "realworld" / "compose-files.txt"
    if not listing.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared corpus not found at {CORPUS}"))]
    return [pytest.param(line, id=line.split("/")[0]) for line in listing.read_text().split() if line]


@pytest.mark.corpus
@pytest.mark.parametrize("app", _realworld())
def test_day_two_on_real_apps(app: str, tmp_path: Path, other: Converted) -> None:
    from oracle import oracle_env

    from bridge.errors import BridgeError

    path = CORPUS / "realworld" / app
    try:
        findings = day_two([path], tmp_path, other, oracle_env())
    except BridgeError as exc:
        pytest.skip(f"not converted ({exc}); tests/test_behaviour.py covers why")
    assert [str(f) for f in findings] == []


def test_every_kind_is_detected(tmp_path: Path) -> None:
    """The oracle finds each kind on manifests that have it, so a clean result means something."""
    chart = convert([FIXTURES / "models" / "compose.yaml"], tmp_path / "chart")
    docs = template(chart.path, values={"modelRunner.enabled": "true", "modelRunner.gpu.enabled": "true"})
    broken = copy.deepcopy(docs)
    for doc in broken:
        pod = doc.get("spec", {}).get("template", {})
        if "spec" in pod:
            pod["spec"].pop("enableServiceLinks")
            pod["metadata"].pop("annotations", None)
        if doc["kind"] == "Deployment" and doc["spec"].get("strategy", {}).get("type") == "Recreate":
            doc["spec"]["strategy"] = {"type": "Recreate"}
        if doc["kind"] == "Deployment" and doc["metadata"]["name"].endswith("-model-runner"):
            pod["spec"].pop("tolerations")
            runner = pod["spec"]["containers"][0]
            runner["image"] = "docker/model-runner:latest"
            runner["readinessProbe"] = {"httpGet": {"path": "/ready", "port": "http"}}
            runner["env"].append({"name": "MODELS", "value": "ai/smollm2"})
        if doc["kind"] == "NetworkPolicy":
            for rule in doc["spec"].get("ingress") or []:
                rule.pop("from", None)  # every source, on the network's (unpublished) ports

    kinds = {f.kind for f in release_findings(broken, chart.project.data)}
    assert kinds == {"service-links", "no-checksum", "recreate-without-null", "runner-unserved", "gpu-cpu-image",
                     "open-network-policy"}
    data = convert([FIXTURES / "shared-dirs" / "compose.yaml"], tmp_path / "data")
    unkept = template(data.path)
    for doc in unkept:
        if doc["kind"] == "PersistentVolumeClaim":
            doc["metadata"].pop("annotations")
    assert {f.kind for f in release_findings(unkept, data.project.data)} == {"pvc-not-kept"}
    kinds.add("pvc-not-kept")
    assert release_findings(docs, chart.project.data) == []
    moved = copy.deepcopy(docs)
    for doc in moved:
        if doc["kind"] == "Deployment":
            doc["spec"]["selector"]["matchLabels"]["extra"] = "label"
    assert {f.kind for f in upgrade_findings(docs, moved)} == {"immutable-field"}
    assert {f.kind for f in collision_findings(("a", docs), ("b", docs))} == {"name-collision"}
    assert set(KINDS) == kinds | {"immutable-field", "name-collision"}


OWNER = '(dict "metadata" (dict "annotations" (dict "meta.helm.sh/release-name" "{}")))'


@pytest.mark.parametrize(("live", "error"), [
    ("(dict)", None),  # no such Service yet
    (OWNER.format("r"), None),  # this release's own (an upgrade)
    (OWNER.format("other-app"), "Service chat in namespace ns1 belongs to release other-app"),
    ('(dict "metadata" (dict))', "Service chat in namespace ns1 belongs to no Helm release"),
])
def test_a_second_owner_of_a_compose_name_is_refused_clearly(tmp_path: Path, live: str, error: str | None) -> None:
    """`lookup` sees the cluster only at install and upgrade; here a copy of the chart answers it as the
    cluster would for a Service `chat`."""
    chart = convert([ROOT / "examples" / "chat" / "compose.yaml"], tmp_path / "chart").path
    alias = chart / "templates" / "chat-alias.yaml"
    source = alias.read_text()
    assert 'lookup "v1" "Service" .Release.Namespace "chat"' in source
    alias.write_text(source.replace('lookup "v1" "Service" .Release.Namespace "chat"', live))
    if error is None:
        assert [d for d in template(chart, release="r") if d["metadata"]["name"] == "chat"]
    else:
        with pytest.raises(AssertionError, match=error):
            template(chart, release="r")
