"""Models: env injection named like `docker compose up`, the modelRunner values block, runner objects."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from chartcheck import by_kind, component, container_env, install_dry_run, lint, one, script_of, template, validate
from conftest import CORPUS, FIXTURES, ROOT
from pipeline import convert

pytestmark = pytest.mark.helm

EXAMPLES = ROOT / "examples"
HOST = "http://host.docker.internal:12434/engines/v1/"
RUNNER_KINDS = {"Deployment", "Service", "PersistentVolumeClaim", "Job", "ConfigMap", "NetworkPolicy"}


def make_chart(compose: Path, out: Path) -> Path:
    convert([compose], out)
    return out


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("models")
    out = {name: make_chart(EXAMPLES / name / "compose.yaml", base / name) for name in ("chat", "rag", "agents")}
    out["fixture"] = make_chart(FIXTURES / "models" / "compose.yaml", base / "fixture")
    return out


def runner_objects(docs: list[dict]) -> list[dict]:
    return [d for d in docs if "model-runner" in d["metadata"]["name"] or "model-pull" in d["metadata"]["name"]]


def test_env_names_match_docker_compose(charts: dict[str, Path]) -> None:
    docs = template(charts["fixture"])
    chat = container_env(one(docs, "Deployment", "-chat"))
    assert chat == {
        "LLM_URL": HOST, "LLM_MODEL": "ai/smollm2",
        "EMBEDDING_MODEL_URL": HOST, "EMBEDDING_MODEL_MODEL": "ai/all-minilm",
    }
    agent = container_env(one(docs, "Deployment", "-agent"))
    # endpoint_var / model_var, `KEY: {}`, `KEY: null`; `my.model` keeps its dot; model vars win over environment.
    assert agent == {
        "AI_URL": HOST, "AI_NAME": "ai/smollm2",
        "MY.MODEL_URL": HOST, "MY.MODEL_MODEL": "ai/qwen2.5:latest",
        "BARE_URL": HOST, "BARE_MODEL": "hf.co/bartowski/tinyllama",
    }


def test_disabled_runner_renders_no_runner_objects(charts: dict[str, Path]) -> None:
    for name, chart in charts.items():
        docs = template(chart)
        validate(docs)
        assert runner_objects(docs) == [], name


def test_enabled_runner(charts: dict[str, Path]) -> None:
    docs = template(charts["rag"], values={"modelRunner.enabled": "true"})
    validate(docs)
    assert {d["kind"] for d in runner_objects(docs)} == RUNNER_KINDS
    runner = one(docs, "Deployment", "-model-runner")
    assert runner["spec"]["replicas"] == 1 and runner["spec"]["strategy"]["type"] == "Recreate"
    pod = runner["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "docker/model-runner:latest" and c["imagePullPolicy"] == "IfNotPresent"
    assert c["ports"] == [{"name": "http", "containerPort": 12434, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["path"] == "/engines/status"
    assert {"name": "MODELS_PATH", "value": "/models"} in c["env"]
    assert {"name": "MODEL_RUNNER_PORT", "value": "12434"} in c["env"]
    assert c["volumeMounts"] == [{"name": "models", "mountPath": "/models"}]
    assert c["resources"] == {"limits": {"cpu": "1000m", "memory": "2Gi"}, "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert c["securityContext"] == {"allowPrivilegeEscalation": False}
    svc = one(docs, "Service", "-model-runner")
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    pvc = one(docs, "PersistentVolumeClaim", "-model-runner")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "100Gi" and "storageClassName" not in pvc["spec"]
    api = one(docs, "Deployment", "-api")
    env = container_env(api)
    url = "http://rel-rag-model-runner/engines/v1/"
    assert env["OPENAI_BASE_URL"] == url and env["CHAT_MODEL"] == "ai/qwen2.5:latest"
    assert env["EMBEDDINGS_BASE_URL"] == url and env["EMBEDDINGS_MODEL"] == "ai/mxbai-embed-large"
    inits = [c["name"] for c in api["spec"]["template"]["spec"]["initContainers"]]
    assert inits == ["wait-for-qdrant", "wait-for-models"]


def test_pre_pull_requests(charts: dict[str, Path]) -> None:
    docs = template(charts["rag"], values={"modelRunner.enabled": "true"})
    cm = one(docs, "ConfigMap", "-model-runner-pull")
    assert cm["data"]["models"] == "ai/qwen2.5:latest\nai/mxbai-embed-large\n" or cm["data"]["models"] == "ai/mxbai-embed-large\nai/qwen2.5:latest\n"
    pulls = sorted(json.loads(v)["from"] for k, v in cm["data"].items() if k.startswith("pull-"))
    assert pulls == ["ai/mxbai-embed-large", "ai/qwen2.5:latest"]
    configure = [json.loads(v) for k, v in cm["data"].items() if k.startswith("configure-")]
    assert configure == [{"model": "ai/qwen2.5:latest", "context-size": 8192, "runtime-flags": ["--temp", "0.1"]}]
    pod = component(docs, "Job", "model-runner-pull")["spec"]["template"]["spec"]
    script = script_of(docs, pod, pod["containers"][0])
    assert "/models/create" in script and "/engines/_configure" in script and "/engines/status" in script


def test_every_runner_value_takes_effect(charts: dict[str, Path], tmp_path: Path) -> None:
    values = {
        "modelRunner": {
            "enabled": True,
            "clusterEndpoint": "http://runner.example:8080/engines/v1/",
            "image": "ghcr.io/example/runner:2",
            "imagePullPolicy": "Always",
            "gpu": {"enabled": True, "vendor": "amd", "count": 2},
            "nodeSelector": {"accelerator": "mi300"},
            "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
            "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 1000},
            "env": {"DMR_ORIGINS": "http://localhost:31246", "LOG_LEVEL": "debug"},
            "resources": {"limits": {"cpu": "4", "memory": "16Gi"}, "requests": {"cpu": "2", "memory": "8Gi"}},
            "storage": {"size": "250Gi", "storageClass": "fast-ssd"},
            "models": ["ai/smollm2", "ai/gemma3"],
            "configure": [{"model": "ai/gemma3", "contextSize": 1024}],
            "prePull": {"image": "mirror/curl:8", "timeoutSeconds": 600},
        }
    }
    vf = tmp_path / "values.yaml"
    vf.write_text(yaml.safe_dump(values))
    # clusterEndpoint: a runner elsewhere replaces the in-chart one; models are pulled into it and awaited there.
    elsewhere = template(charts["chat"], values_file=vf)
    validate(elsewhere)
    assert not [d for d in elsewhere if "model-runner" in d["metadata"]["name"] and d["kind"] != "ConfigMap"]
    assert container_env(component(elsewhere, "Job", "model-runner-pull"))["RUNNER"] == "http://runner.example:8080"
    chat_pod = one(elsewhere, "Deployment", "-chat")["spec"]["template"]["spec"]
    wait = next(c for c in chat_pod["initContainers"] if c["name"] == "wait-for-models")
    assert {e["name"]: e["value"] for e in wait["env"]} == {"RUNNER": "http://runner.example:8080", "TIMEOUT": "600"}
    assert "gave up waiting for model" in script_of(elsewhere, chat_pod, wait)
    assert container_env(one(elsewhere, "Deployment", "-chat"))["LLM_URL"] == "http://runner.example:8080/engines/v1/"
    values["modelRunner"]["clusterEndpoint"] = ""
    vf.write_text(yaml.safe_dump(values))
    docs = template(charts["chat"], values_file=vf)
    validate(docs)
    pod = one(docs, "Deployment", "-model-runner")["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "ghcr.io/example/runner:2" and c["imagePullPolicy"] == "Always"
    assert c["resources"]["limits"] == {"cpu": "4", "memory": "16Gi", "amd.com/gpu": "2"}
    assert c["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}
    assert pod["nodeSelector"] == {"accelerator": "mi300"}
    # the values' tolerations, and one for the GPU vendor's taint
    assert pod["tolerations"] == [*values["modelRunner"]["tolerations"],
                                  {"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["affinity"] == values["modelRunner"]["affinity"]
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 1000}
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["DMR_ORIGINS"] == "http://localhost:31246" and env["LOG_LEVEL"] == "debug"
    pvc = one(docs, "PersistentVolumeClaim", "-model-runner")
    assert pvc["spec"]["storageClassName"] == "fast-ssd"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "250Gi"
    cm = one(docs, "ConfigMap", "-model-runner-pull")
    assert cm["data"]["models"] == "ai/smollm2\nai/gemma3\n"
    assert json.loads(cm["data"]["configure-0.json"]) == {"model": "ai/gemma3", "context-size": 1024}
    job = component(docs, "Job", "model-runner-pull")
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror/curl:8"
    assert container_env(one(docs, "Deployment", "-chat"))["LLM_URL"] == "http://rel-chat-model-runner/engines/v1/"
    host = template(charts["chat"], values={"modelRunner.hostEndpoint": "http://192.168.65.254:12434/engines/v1/"})
    assert container_env(one(host, "Deployment", "-chat"))["LLM_URL"] == "http://192.168.65.254:12434/engines/v1/"


def test_nvidia_gpu_and_gpu_off(charts: dict[str, Path]) -> None:
    docs = template(charts["agents"], values={"modelRunner.enabled": "true", "modelRunner.gpu.enabled": "true"})
    limits = one(docs, "Deployment", "-model-runner")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"
    off = template(charts["agents"], values={"modelRunner.enabled": "true"})
    limits = one(off, "Deployment", "-model-runner")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert not [k for k in limits if k.endswith("/gpu")]


def test_values_block_defaults(charts: dict[str, Path]) -> None:
    values = yaml.safe_load((charts["rag"] / "values.yaml").read_text())
    runner = values["modelRunner"]
    assert runner["enabled"] is False
    assert runner["hostEndpoint"] == HOST
    assert runner["image"] == "docker/model-runner:latest"
    assert runner["gpu"] == {"enabled": False, "vendor": "nvidia", "count": 1}
    assert runner["storage"] == {"size": "100Gi", "storageClass": "", "mode": "shared", "accessModes": ["ReadWriteOnce"],
                                 "existingClaim": "", "retention": {"whenDeleted": "Delete", "whenScaled": "Delete"}}
    assert runner["replicas"] == 1 and runner["autoscaling"]["enabled"] is False
    assert runner["models"] == ["ai/mxbai-embed-large", "ai/qwen2.5:latest"]
    assert runner["configure"] == [{"model": "ai/qwen2.5:latest", "contextSize": 8192, "runtimeFlags": ["--temp", "0.1"]}]
    schema = json.loads((charts["rag"] / "values.schema.json").read_text())
    gpu = schema["properties"]["modelRunner"]["properties"]["gpu"]["properties"]
    assert gpu["vendor"]["enum"] == ["nvidia", "amd"] and gpu["count"]["minimum"] == 1


def test_shared_models_are_deduplicated(charts: dict[str, Path]) -> None:
    values = yaml.safe_load((charts["agents"] / "values.yaml").read_text())
    assert values["modelRunner"]["models"] == ["ai/all-minilm", "ai/llama3.2:1B-Q8_0"]
    docs = template(charts["agents"], values={"modelRunner.enabled": "true"})
    assert container_env(one(docs, "Deployment", "-worker"))["LLM_MODEL"] == "ai/llama3.2:1B-Q8_0"
    assert "LLM_URL" not in container_env(one(docs, "Deployment", "-tools"))


@pytest.mark.parametrize("example", ["chat", "rag", "agents"])
def test_examples_install_dry_run_both_modes(charts: dict[str, Path], example: str) -> None:
    for version in (4, 3):
        lint([charts[example]], version)
        lint([charts[example]], version, {"modelRunner.enabled": "true"})
    install_dry_run(charts[example])
    out = install_dry_run(charts[example], {"modelRunner.enabled": "true"})
    assert "model-runner" in out


def corpus_models() -> list:
    folder = CORPUS / "models"
    if not folder.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared corpus not found at {CORPUS}"))]
    listing = (CORPUS / "compose-files.txt").read_text().splitlines()
    return [line for line in listing if line.startswith("models/")]


@pytest.mark.corpus
@pytest.mark.parametrize("name", corpus_models())
def test_corpus_model_apps_both_modes(name: str, tmp_path: Path) -> None:
    from bridge.errors import BridgeError

    path = CORPUS / name
    chart = tmp_path / "chart"
    try:
        project = convert([path], chart, environ=os.environ, cwd=path.parent).project
    except BridgeError:
        pytest.skip("rejected by the loader, as docker-compose rejects it (see test_config_oracle)")
    lint([chart], 4)
    lint([chart], 4, {"modelRunner.enabled": "true"})
    chart_name = yaml.safe_load((chart / "Chart.yaml").read_text())["name"]
    fullname = "rel" if chart_name in "rel" else f"rel-{chart_name}"
    for mode in ({}, {"modelRunner.enabled": "true"}):
        docs = template(chart, values=mode)
        validate(docs)
        assert bool(runner_objects(docs)) == bool(mode)
        expected = f"http://{fullname}-model-runner/engines/v1/" if mode else HOST
        for workload in by_kind(docs, "Deployment"):
            svc = workload["metadata"]["labels"].get("com.docker.compose.service")
            env = container_env(workload)
            for key, binding in ((project.data["services"].get(svc) or {}).get("models") or {}).items():
                prefix = key.upper().replace("-", "_")
                binding = binding or {}
                url_var = binding.get("endpoint_var") or f"{prefix}_URL"
                model_var = binding.get("model_var") or f"{prefix}_MODEL"
                assert env[url_var] == expected
                if model_var != url_var:
                    assert env[model_var] == project.data["models"][key]["model"]


def test_provider_services_are_models(tmp_path: Path) -> None:
    out = tmp_path / "chart"
    chart = convert([FIXTURES / "providers" / "compose.yaml"], out).chart
    assert sorted(s.name for s in chart.services) == ["app", "db", "worker"]  # no pod for a provider
    # by model key (chat-llm, embedder); chat-llm's speculative draft is pulled right after it
    assert [m["ref"] for m in chart.models] == ["ai/smollm2", "ai/smollm2:135M-Q2_K", "ai/all-minilm"]
    lint([out], 4)
    for mode in ({}, {"modelRunner.enabled": "true"}):
        docs = template(out, values=mode)
        validate(docs)
        env = container_env(one(docs, "Deployment", "-app"))
        endpoint = "http://rel-providers-model-runner/engines/v1/" if mode else \
            "http://host.docker.internal:12434/engines/v1/"
        assert env["CHAT-LLM_MODEL"] == "ai/smollm2" and env["CHAT-LLM_URL"] == endpoint
        assert env["EMBEDDER_MODEL"] == "ai/all-minilm" and env["EMBEDDER_URL"] == endpoint
        assert set(container_env(one(docs, "Deployment", "-worker"))) == {"CHAT-LLM_MODEL", "CHAT-LLM_URL"}
    docs = template(out, values={"modelRunner.enabled": "true"})
    configure = one(docs, "ConfigMap", "-model-runner-pull")["data"]
    # DMR's ConfigureRequest: the context size, the flags and SpeculativeDecodingConfig, as its compose
    # plugin sends them (cmd/cli/commands/compose.go)
    assert json.loads(configure["configure-0.json"]) == {
        "model": "ai/smollm2", "context-size": 2048, "runtime-flags": ["--temp", "0.2"],
        "speculative": {"draft_model": "ai/smollm2:135M-Q2_K", "num_tokens": 16, "min_acceptance_rate": 0.8}}
    assert [json.loads(configure[f"pull-{i}.json"])["from"] for i in range(3)] == [m["ref"] for m in chart.models]


def test_only_model_clients_reach_the_runner(charts: dict[str, Path]) -> None:
    docs = template(charts["chat"], values={"modelRunner.enabled": "true"})
    policy = one(docs, "NetworkPolicy", "-model-runner")
    sources = policy["spec"]["ingress"][0]["from"]
    assert sources[0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "rel",
                                                        "models.compose-bridge.io/client": "true"}
    assert sources[1]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "model-runner-pull"
    assert component(docs, "Job", "model-runner-pull")["spec"]["template"]["metadata"]["labels"][
        "app.kubernetes.io/component"] == "model-runner-pull"
    chat = one(docs, "Deployment", "-chat")["spec"]["template"]["metadata"]["labels"]
    assert chat["models.compose-bridge.io/client"] == "true"
    assert not [d for d in template(charts["chat"], values={"modelRunner.enabled": "true",
                                                              "networkPolicies.enabled": "false"})
                if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-model-runner")]


# ---- the runner scaled out ---------------------------------------------------------------------------
SCALED = {"modelRunner.enabled": "true", "modelRunner.replicas": "3"}


def test_runner_replicas_with_a_volume_each(charts: dict[str, Path]) -> None:
    values = {**SCALED, "modelRunner.storage.mode": "perReplica", "modelRunner.storage.storageClass": "fast"}
    lint([charts["rag"]], values=values)
    for version in (4, 3):
        docs = template(charts["rag"], version=version, values=values)
        validate(docs)
    sts = one(docs, "StatefulSet", "-model-runner")
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["serviceName"] == "rel-rag-model-runner"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "models" and claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Delete", "whenScaled": "Delete"}
    pod = sts["spec"]["template"]["spec"]
    assert "models" not in {v["name"] for v in pod["volumes"]}  # the claim template is mounted as `models`
    runner, pull = pod["containers"]
    # only what docker/model-runner serves: probes on /engines/status, no MODELS variable
    assert runner["readinessProbe"]["httpGet"]["path"] == "/engines/status"
    assert not {e["name"] for e in runner["env"]} & {"MODELS", "MODELS_CONFIGURE"}
    # the pull container beside it: the chart's pull script against this replica, Ready once it is done
    assert container_env(sts, "pull") == {"RUNNER": "http://localhost:12434", "STAY": "true"}
    assert pull["readinessProbe"]["exec"]["command"] == ["test", "-f", "/tmp/pulled"]
    assert "STAY" in script_of(docs, pod, pull) and "/models/create" in script_of(docs, pod, pull)
    requests = one(docs, "ConfigMap", "-model-runner-pull")["data"]
    assert sorted(json.loads(v)["from"] for k, v in requests.items() if k.startswith("pull-")) == [
        "ai/mxbai-embed-large", "ai/qwen2.5:latest"]
    assert [json.loads(v) for k, v in requests.items() if k.startswith("configure-")] == [
        {"model": "ai/qwen2.5:latest", "context-size": 8192, "runtime-flags": ["--temp", "0.1"]}]
    spread = pod["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and spread["labelSelector"]["matchLabels"][
        "app.kubernetes.io/component"] == "model-runner"
    assert one(docs, "PodDisruptionBudget", "-model-runner")["spec"]["maxUnavailable"] == 1
    # each replica pulls for itself: no shared claim, no pull Job through the Service
    assert not [d for d in docs if d["kind"] in ("PersistentVolumeClaim", "Job") and "model" in d["metadata"]["name"]]
    assert not [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-model-runner")]
    # apps still wait for their models at the Service, which only routes to Ready (model-holding) replicas
    assert one(docs, "Service", "-model-runner")["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]


def test_runner_replicas_on_one_shared_volume_and_autoscaled(charts: dict[str, Path]) -> None:
    values = {"modelRunner.enabled": "true", "modelRunner.autoscaling.enabled": "true",
              "modelRunner.autoscaling.maxReplicas": "6", "modelRunner.storage.accessModes[0]": "ReadWriteMany"}
    lint([charts["chat"]], values=values)
    docs = template(charts["chat"], values=values)
    validate(docs)
    dep = one(docs, "Deployment", "-model-runner")
    assert "replicas" not in dep["spec"] and dep["spec"]["strategy"]["type"] == "RollingUpdate"
    pvc = one(docs, "PersistentVolumeClaim", "-model-runner")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert dep["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    hpa = one(docs, "HorizontalPodAutoscaler", "-model-runner")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep["metadata"]["name"]}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    existing = template(charts["chat"], values={**values, "modelRunner.storage.existingClaim": "team-models"})
    assert not [d for d in existing if d["kind"] == "PersistentVolumeClaim" and "model-runner" in d["metadata"]["name"]]
    assert one(existing, "Deployment", "-model-runner")["spec"]["template"]["spec"]["volumes"][0][
        "persistentVolumeClaim"]["claimName"] == "team-models"


def test_runner_replicas_refuse_a_read_write_once_shared_volume(charts: dict[str, Path]) -> None:
    with pytest.raises(AssertionError, match="storage.mode=perReplica"):
        template(charts["chat"], values=SCALED)
    single = template(charts["chat"], values={"modelRunner.enabled": "true"})
    dep = one(single, "Deployment", "-model-runner")
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate", "rollingUpdate": None}
    assert not by_kind(single, "PodDisruptionBudget") and not by_kind(single, "HorizontalPodAutoscaler")
    assert component(single, "Job", "model-runner-pull")
