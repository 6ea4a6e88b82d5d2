"""The switches an operator expects from a chart: a registry mirror, pull secrets, a service account,
the restricted Pod Security Standard, and `helm test`."""

from __future__ import annotations

from pathlib import Path

import pytest
from chartcheck import by_kind, component, lint, template, validate
from conftest import FIXTURES, ROOT
from pipeline import convert

pytestmark = pytest.mark.helm

RUNNER = {"modelRunner.enabled": "true"}
SCALED = {**RUNNER, "modelRunner.replicas": "2", "modelRunner.storage.mode": "perReplica"}


def pods(docs: list[dict]) -> list[tuple[dict, dict]]:
    """(object, pod spec) of everything that runs a pod, the `helm test` Pod included."""
    out = [(d, d["spec"]["template"]["spec"]) for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")]
    return out + [(d, d["spec"]) for d in by_kind(docs, "Pod")]


def containers(spec: dict) -> list[dict]:
    return spec["containers"] + spec.get("initContainers", [])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert([ROOT / "examples" / "shop" / "compose.yaml"], tmp_path_factory.mktemp("shop") / "chart").path


@pytest.mark.parametrize("mode", [{}, RUNNER, SCALED], ids=["host-runner", "runner", "scaled-runner"])
def test_every_image_comes_from_the_mirror_with_the_pull_secrets(shop: Path, mode: dict) -> None:
    values = {**mode, "global.imageRegistry": "mirror.example:5000/", "imagePullSecrets[0].name": "regcred"}
    docs = template(shop, values=values)
    validate(docs)
    images = {c["image"] for _, spec in pods(docs) for c in containers(spec)}
    assert images and all(i.startswith("mirror.example:5000/") for i in images), images
    assert "mirror.example:5000/nginx:1.27-alpine" in images  # a Docker Hub name gets the registry in front
    assert "mirror.example:5000/example/shop-web:1.4.2" in images
    if mode:
        assert "mirror.example:5000/docker/model-runner:latest" in images
    assert all(spec.get("imagePullSecrets") == [{"name": "regcred"}] for _, spec in pods(docs))


def test_a_registry_in_the_image_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a: {image: 'ghcr.io/org/a:1'}\n  b: {image: 'localhost:5000/b'}\n")
    chart = convert([tmp_path / "compose.yaml"], tmp_path / "chart").path
    docs = template(chart, values={"global.imageRegistry": "mirror.example"})
    assert {c["image"] for _, spec in pods(docs) for c in spec["containers"]} == {
        "mirror.example/org/a:1", "mirror.example/b:latest"}


def test_a_service_account_for_the_app(shop: Path) -> None:
    values = {"serviceAccount.create": "true", "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn": "arn:x"}
    lint([shop], values=values)
    docs = template(shop, values=values)
    validate(docs)
    account = one_named(docs, "ServiceAccount", "rel-shop")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:x"}
    assert account["automountServiceAccountToken"] is False
    app_pods = [(d, s) for d, s in pods(docs) if d["metadata"]["labels"].get("com.docker.compose.service")]
    assert app_pods and all(s["serviceAccountName"] == "rel-shop" and s["automountServiceAccountToken"] is False
                            for _, s in app_pods)
    # pods that wait for the one-shot read its status with this account's token: the Role is bound to it
    binding = one_named(docs, "RoleBinding", "rel-shop-job-waiter")
    assert {"kind": "ServiceAccount", "name": "rel-shop", "namespace": "ns1"} in binding["subjects"]
    # an account of the operator's, by name
    docs = template(shop, values={"serviceAccount.name": "app-identity", "serviceAccount.automount": "true"})
    assert not by_kind(docs, "ServiceAccount")[1:]  # only the job waiter's
    app_pods = [(d, s) for d, s in pods(docs) if d["metadata"]["labels"].get("com.docker.compose.service")]
    assert all(s["serviceAccountName"] == "app-identity" and s["automountServiceAccountToken"] is True
               for _, s in app_pods)


def one_named(docs: list[dict], kind: str, name: str) -> dict:
    (found,) = [d for d in by_kind(docs, kind) if d["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("app", ["examples/shop", "tests/fixtures/kitchen-sink"])
def test_restricted_pod_security(app: str, tmp_path: Path) -> None:
    chart = convert([ROOT / app / "compose.yaml"], tmp_path / "chart").path
    docs = template(chart, values={"podSecurity": "restricted"})
    validate(docs)
    for doc, spec in pods(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in containers(spec):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], c["name"]
            assert not sc.get("privileged")
            assert set(sc["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}  # the one the standard allows
    # what compose says that the standard allows stays: read_only
    default = {c["name"]: c for _, s in pods(template(chart)) for c in s["containers"]}
    for _, spec in pods(docs):
        for c in spec["containers"]:
            before = default[c["name"]]["securityContext"]
            assert c["securityContext"].get("readOnlyRootFilesystem") == before.get("readOnlyRootFilesystem")


def test_helm_test_checks_every_service_with_a_known_port(tmp_path: Path) -> None:
    chart = convert([FIXTURES / "kitchen-sink" / "compose.yaml"], tmp_path / "chart").path
    docs = template(chart)
    validate(docs)
    test = component(docs, "Pod", "test-services")
    assert test["metadata"]["annotations"]["helm.sh/hook"] == "test"
    targets = [t.split("=") for t in test["spec"]["containers"][0]["env"][0]["value"].split()]
    services = {d["metadata"]["name"]: d for d in by_kind(docs, "Service")}
    for name, address in targets:
        host, port = address.split(":")
        assert int(port) in {p["port"] for p in services[host]["spec"]["ports"] if p["protocol"] == "TCP"}, name
    # every TCP port of every Service with known ports, the one-shots' excepted (they exit)
    assert targets == [["api", "rel-kitchen-sink-api:3000"], ["cache", "rel-kitchen-sink-cache:6379"],
                       ["web-app", "rel-kitchen-sink-web-app:80"], ["web-app", "rel-kitchen-sink-web-app:443"],
                       ["web-app", "rel-kitchen-sink-web-app:7000"]]
    assert not [d for d in template(chart, values={"tests.enabled": "false"}) if d["kind"] == "Pod"]
