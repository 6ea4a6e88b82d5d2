"""The chart runs the app the way `docker compose up` runs it: the behavioural oracle
(tests/support/behaviour.py) over our own fixtures and examples, and over every app in the shared corpus
that docker-compose accepts. The report for the corpus: `python tests/support/behaviour_report.py`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from behaviour import check, kubelet_expand, provider_findings, values_findings
from chartcheck import template
from conftest import CORPUS, FIXTURES, ROOT, corpus_files
from oracle import oracle_env, run_oracle
from pipeline import convert

pytestmark = pytest.mark.helm

OWN = {
    "kitchen-sink": [FIXTURES / "kitchen-sink" / "compose.yaml"],
    "multi": [FIXTURES / "multi" / "compose.yaml", FIXTURES / "multi" / "compose.override.yaml"],
    "models": [FIXTURES / "models" / "compose.yaml"],
    "providers": [FIXTURES / "providers" / "compose.yaml"],
    "runtime": [FIXTURES / "runtime" / "compose.yaml"],
    "shared-dirs": [FIXTURES / "shared-dirs" / "compose.yaml"],
    "shop": [ROOT / "examples" / "shop" / "compose.yaml"],
    "chat": [ROOT / "examples" / "chat" / "compose.yaml"],
    "rag": [ROOT / "examples" / "rag" / "compose.yaml"],
    "agents": [ROOT / "examples" / "agents" / "compose.yaml"],
}
CHUNKS = 6


def run_app(files: list[Path], binary: Path, out: Path, env: dict[str, str], stats=None) -> tuple[list, list] | None:
    """Findings for one app, or None when docker-compose rejects it."""
    rc, doc, _ = run_oracle(binary, files, env)
    if rc != 0:
        return None
    converted = convert(files, out, environ=env, cwd=files[0].parent)
    project, chart = converted.project, converted.chart
    findings, warned = check(doc, template(out), Path(project.working_dir), chart.warnings, stats)
    values = yaml.safe_load((out / "values.yaml").read_text())
    return findings + values_findings(values) + provider_findings(doc, values, chart.warnings), warned


def test_kubelet_expansion() -> None:
    assert kubelet_expand("a$$b", {}) == "a$b"
    assert kubelet_expand("$(X)-$(Y)", {"X": "1"}) == "1-$(Y)"
    assert kubelet_expand("$$(X)", {"X": "1"}) == "$(X)"


@pytest.mark.parametrize("app", sorted(OWN))
def test_own_apps_run_like_compose(app: str, compose_binary: Path, tmp_path: Path) -> None:
    result = run_app(OWN[app], compose_binary, tmp_path / "chart", oracle_env())
    assert result is not None
    findings, _ = result
    assert [str(f) for f in findings] == []


def _chunks() -> list:
    if not corpus_files():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared corpus not found at {CORPUS}"))]
    return list(range(CHUNKS))


@pytest.mark.corpus
@pytest.mark.parametrize("chunk", _chunks())
def test_corpus_apps_run_like_compose(chunk: int, compose_binary: Path, tmp_path: Path) -> None:
    env = oracle_env()
    problems = []
    for i, name in enumerate(corpus_files()[chunk::CHUNKS]):
        result = run_app([CORPUS / name], compose_binary, tmp_path / f"chart{i}", env)
        if result is not None:
            problems += [f"{name}: {f}" for f in result[0]]
    assert problems == []


@pytest.fixture(scope="module")
def runtime_app(compose_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    files = OWN["runtime"]
    env = oracle_env()
    _, doc, _ = run_oracle(compose_binary, files, env)
    out = tmp_path_factory.mktemp("runtime") / "chart"
    converted = convert(files, out, environ=env)
    project, chart = converted.project, converted.chart
    return doc, template(out), Path(project.working_dir), chart.warnings


def _kinds(runtime_app: tuple, mutate) -> set[tuple[str, str]]:
    import copy

    doc, docs, folder, warnings = runtime_app
    docs = copy.deepcopy(docs)
    warnings = list(warnings)
    mutate(docs, warnings)
    return {(f.kind, f.service) for f in check(doc, docs, folder, warnings)[0]}


def _workload(docs: list[dict], service: str) -> dict:
    return next(d for d in docs if d["kind"] in ("Deployment", "Job")
                and d["metadata"]["labels"].get("com.docker.compose.service") == service)


def test_oracle_sees_what_a_cluster_would_break(runtime_app: tuple) -> None:
    """The oracle is not vacuous: each defect of the first charts shows up as its finding."""
    assert _kinds(runtime_app, lambda d, w: None) == set()

    def drop_alias(docs: list[dict], _: list) -> None:
        docs[:] = [d for d in docs if not (d["kind"] == "Service" and d["metadata"]["name"] == "database")]
    assert ("unresolved-name", "app") in _kinds(runtime_app, drop_alias)

    def empty_dir_for_config(docs: list[dict], _: list) -> None:
        pod = _workload(docs, "gateway")["spec"]["template"]["spec"]
        for v in pod["volumes"]:
            if "configMap" in v:
                v.pop("configMap")
                v["emptyDir"] = {}
    assert ("file-not-in-chart", "gateway") in _kinds(runtime_app, empty_dir_for_config)

    def data_on_emptydir(docs: list[dict], _: list) -> None:
        pod = _workload(docs, "database")["spec"]["template"]["spec"]
        for v in pod["volumes"]:
            if "persistentVolumeClaim" in v:
                v.pop("persistentVolumeClaim")
                v["emptyDir"] = {}
    assert ("data-not-on-pvc", "database") in _kinds(runtime_app, data_on_emptydir)

    def claim_at_root(docs: list[dict], _: list) -> None:
        for mount in _workload(docs, "database")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]:
            mount.pop("subPath", None)
    assert ("claim-at-root", "database") in _kinds(runtime_app, claim_at_root)

    def password_in_chart(docs: list[dict], _: list) -> None:
        for e in _workload(docs, "database")["spec"]["template"]["spec"]["containers"][0]["env"]:
            if "valueFrom" in e:
                e.pop("valueFrom")
                e["value"] = "secret"
    assert ("secret-in-values", "database") in _kinds(runtime_app, password_in_chart)

    def no_copy_up(docs: list[dict], _: list) -> None:
        pod = _workload(docs, "database")["spec"]["template"]["spec"]
        pod["initContainers"] = [c for c in pod["initContainers"] if not c["name"].startswith("seed")]
    assert ("claim-not-writable", "database") in _kinds(runtime_app, no_copy_up)

    def job_as_deployment(docs: list[dict], _: list) -> None:
        _workload(docs, "migrate")["kind"] = "Deployment"
    assert ("oneshot-not-job", "migrate") in _kinds(runtime_app, job_as_deployment)

    def no_waits(docs: list[dict], _: list) -> None:
        _workload(docs, "app")["spec"]["template"]["spec"].pop("initContainers")
    assert {("dependent-not-gated", "app"), ("dependency-not-gated", "app")} <= _kinds(runtime_app, no_waits)

    def unescaped(docs: list[dict], _: list) -> None:
        c = _workload(docs, "app")["spec"]["template"]["spec"]["containers"][0]
        for e in c["env"]:
            if "value" in e:
                e["value"] = e["value"].replace("$$", "$")
        c["args"] = [a.replace("$$", "$") for a in c["args"]]
    assert {("env-differs", "app"), ("command-differs", "app")} <= _kinds(runtime_app, unescaped)

    def kubernetes_probe_defaults(docs: list[dict], _: list) -> None:
        c = _workload(docs, "database")["spec"]["template"]["spec"]["containers"][0]
        c["livenessProbe"] = dict(c["readinessProbe"], periodSeconds=10, timeoutSeconds=1)
    assert ("probe-timing", "database") in _kinds(runtime_app, kubernetes_probe_defaults)

    def silent(_: list, warnings: list) -> None:
        warnings[:] = [w for w in warnings if not w.startswith("service app: ulimits")]
    assert ("key-unmapped", "app") in _kinds(runtime_app, silent)


def test_a_shared_directory_is_one_claim(compose_binary: Path, tmp_path: Path) -> None:
    files = OWN["shared-dirs"]
    rc, doc, _ = run_oracle(compose_binary, files, oracle_env())
    assert rc == 0
    converted = convert(files, tmp_path / "chart", environ=oracle_env(), cwd=files[0].parent)
    docs = template(tmp_path / "chart")
    claims = {v["persistentVolumeClaim"]["claimName"] for d in docs if d["kind"] == "Deployment"
              for v in d["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"rel-shared-dirs-bind-scheduler-opt-airflow-logs", "rel-shared-dirs-bind-scheduler-opt-airflow-plugins",
                      "rel-shared-dirs-bind-scheduler-opt-airflow-config"}
    modes = {p["metadata"]["name"]: p["spec"]["accessModes"] for p in docs if p["kind"] == "PersistentVolumeClaim"}
    assert modes == {"rel-shared-dirs-bind-scheduler-opt-airflow-logs": ["ReadWriteMany"],
                     "rel-shared-dirs-bind-scheduler-opt-airflow-plugins": ["ReadWriteMany"],
                     "rel-shared-dirs-bind-scheduler-opt-airflow-config": ["ReadWriteOnce"]}
    folder = Path(converted.project.working_dir)
    assert check(doc, docs, folder, converted.chart.warnings)[0] == []
    # the oracle sees a split: give the worker a claim of its own
    worker = next(d for d in docs if d["metadata"]["name"].endswith("-worker"))
    for v in worker["spec"]["template"]["spec"]["volumes"]:
        if v.get("persistentVolumeClaim", {}).get("claimName", "").endswith("-logs"):
            v["persistentVolumeClaim"]["claimName"] = "rel-shared-dirs-bind-worker-opt-airflow-logs"
    assert {(f.kind, f.service) for f in check(doc, docs, folder, converted.chart.warnings)[0]} == {
        ("shared-dir-split", "scheduler,webserver,worker")}
    # ... and a user's path left without a claim
    scheduler = next(d for d in docs if d["metadata"]["name"].endswith("-scheduler"))
    for v in scheduler["spec"]["template"]["spec"]["volumes"]:
        if v.get("persistentVolumeClaim", {}).get("claimName", "").endswith("-config"):
            v.pop("persistentVolumeClaim")
            v["emptyDir"] = {}
    assert ("user-path-dropped", "scheduler") in {(f.kind, f.service) for f in check(doc, docs, folder, [])[0]}


def test_embedded_secrets_are_secret_in_values(tmp_path: Path) -> None:
    """--embed-secrets writes the passwords into values.yaml, as asked: the oracle names them."""
    convert(OWN["runtime"], tmp_path / "chart", environ=oracle_env(), embed_secrets=True)
    values = yaml.safe_load((tmp_path / "chart" / "values.yaml").read_text())
    assert ("secret-in-values", "envSecrets.values") in {(f.kind, f.service) for f in values_findings(values)}
    convert(OWN["runtime"], tmp_path / "plain", environ=oracle_env())
    assert values_findings(yaml.safe_load((tmp_path / "plain" / "values.yaml").read_text())) == []


def test_provider_options_reach_the_runner(compose_binary: Path, tmp_path: Path) -> None:
    """Speculative decoding, context size and runtime flags of a model provider service reach the
    runner's configure call; the oracle sees one dropped, and an option nobody takes must be warned."""
    files = OWN["providers"]
    _, doc, _ = run_oracle(compose_binary, files, oracle_env())
    converted = convert(files, tmp_path / "chart", environ=oracle_env())
    values = yaml.safe_load((tmp_path / "chart" / "values.yaml").read_text())
    assert provider_findings(doc, values, converted.chart.warnings) == []
    del values["modelRunner"]["configure"][0]["speculative"]
    assert {f.detail.split("=")[0] for f in provider_findings(doc, values, [])} == {
        "speculative-draft-model", "speculative-num-tokens", "speculative-min-acceptance-rate"}
    doc["services"]["chat-llm"]["provider"]["options"]["temperature"] = "0.1"
    assert [f.kind for f in provider_findings(doc, yaml.safe_load((tmp_path / "chart" / "values.yaml").read_text()),
                                              converted.chart.warnings)] == ["provider-option-dropped"]
