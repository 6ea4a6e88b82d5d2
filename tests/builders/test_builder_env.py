"""bridge/builders/env.py and the model bindings of bridge/builders/models.py."""

from __future__ import annotations

import pytest
from builder_context import run

from bridge.builders.env import ENV
from bridge.builders.models import BINDINGS, runner_values
from bridge.errors import BridgeError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("environment", "env"), [
    ({"A": "1", "B": "x y"}, [{"name": "A", "value": "1"}, {"name": "B", "value": "x y"}]),
    ({"UNSET": None, "EMPTY": ""}, [{"name": "EMPTY", "value": ""}]),  # unset variables are left out
    ({"TEMPLATE": "{{ .Release.Name }}", "D": "$$x"}, [{"name": "TEMPLATE", "value": "{{ .Release.Name }}"},
                                                       {"name": "D", "value": "$$x"}]),
    ({"LLM_URL": "mine", "KEEP": "1"}, [{"name": "KEEP", "value": "1"}]),  # the model binding wins
])
def test_env(environment: dict, env: list) -> None:
    values, _, _ = run(ENV, {"environment": environment, "models": {"llm": None}})
    assert values == {"env": env, "secretEnv": []}


@pytest.mark.parametrize(("environment", "secret_values", "plain", "secret"), [
    # secret by name, whatever the case and wherever in the name; the value goes to the env Secret
    ({"POSTGRES_PASSWORD": "pw", "db_pass": "x", "ApiKey": "k", "MODE": "prod"}, frozenset(),
     ["MODE"], ["POSTGRES_PASSWORD", "db_pass", "ApiKey"]),
    # secret by value: a URL holding a password interpolated from .env
    ({"DATABASE_URL": "postgres://app:s3cret@db/app", "HOST": "db"}, frozenset({"s3cret"}),
     ["HOST"], ["DATABASE_URL"]),
    ({"AUTH_TOKEN_TTL": "", "CREDENTIALS_FILE": "/run/c"}, frozenset(), [], ["AUTH_TOKEN_TTL", "CREDENTIALS_FILE"]),
])
def test_secret_environment(environment: dict, secret_values: frozenset, plain: list, secret: list) -> None:
    values, _, ctx = run(ENV, {"environment": environment}, secret_values=secret_values)
    assert [e["name"] for e in values["env"]] == plain
    assert [e["name"] for e in values["secretEnv"]] == secret
    assert {e["key"]: environment[e["name"]] for e in values["secretEnv"]} == ctx.env_secrets
    assert all(e["key"] == f"web.{e['name']}" for e in values["secretEnv"])


def test_secret_keys_are_secret_key_characters_and_unique() -> None:
    values, _, ctx = run(ENV, {"environment": {"MY KEY": "a", "MY_KEY": "b"}})
    assert [e["key"] for e in values["secretEnv"]] == ["web.MY_KEY", "web.MY_KEY-2"]
    assert ctx.env_secrets == {"web.MY_KEY": "a", "web.MY_KEY-2": "b"}


MODELS = {"llm": {"model": "ai/smollm2"}, "embedding-model": {"model": "ai/all-minilm"}, "my.model": {"model": "ai/x"}}


@pytest.mark.parametrize(("bindings", "expected"), [
    ({"llm": None}, [{"key": "llm", "urlVar": "LLM_URL", "modelVar": "LLM_MODEL", "model": "ai/smollm2"}]),
    ({"embedding-model": {}}, [{"key": "embedding-model", "urlVar": "EMBEDDING_MODEL_URL",
                                "modelVar": "EMBEDDING_MODEL_MODEL", "model": "ai/all-minilm"}]),
    ({"my.model": None}, [{"key": "my.model", "urlVar": "MY.MODEL_URL", "modelVar": "MY.MODEL_MODEL", "model": "ai/x"}]),
    ({"llm": {"endpoint_var": "AI_URL", "model_var": "AI_NAME"}},
     [{"key": "llm", "urlVar": "AI_URL", "modelVar": "AI_NAME", "model": "ai/smollm2"}]),
])
def test_bindings_are_named_as_compose_up_names_them(bindings: dict, expected: list) -> None:
    values, service, ctx = run(BINDINGS, {"models": bindings}, models=MODELS)
    assert values == {"models": expected} and service.models == expected and not ctx.warnings


def test_one_variable_for_both_warns() -> None:
    _, _, ctx = run(BINDINGS, {"models": {"llm": {"endpoint_var": "X", "model_var": "X"}}}, models=MODELS)
    assert "uses X for both the endpoint and the model" in ctx.warnings[0]


def test_runner_values_list_used_models_once_with_their_settings() -> None:
    services = {"a": {"models": {"llm": None}}, "b": {"models": {"llm": None, "emb": None}}, "c": {}}
    models = {"llm": {"model": "ai/smollm2", "context_size": 2048, "runtime_flags": ["--temp", "0.1"]},
              "emb": {"model": "ai/all-minilm"}, "unused": {"model": "ai/unused"}}
    runner = runner_values(services, models)
    assert runner["models"] == ["ai/all-minilm", "ai/smollm2"]  # by model key
    assert runner["configure"] == [{"model": "ai/smollm2", "contextSize": 2048, "runtimeFlags": ["--temp", "0.1"]}]
    assert runner["enabled"] is False and runner["image"] == "docker/model-runner:latest"


def test_a_model_without_a_reference_is_an_error() -> None:
    with pytest.raises(BridgeError) as info:
        runner_values({"a": {"models": {"llm": None}}}, {"llm": {}})
    assert info.value.path == ("models", "llm") and "no `model` reference" in info.value.message


def test_provider_options_as_dmrs_compose_plugin_reads_them() -> None:
    from bridge.builders.models import provider_model
    from bridge.model import Warnings

    warnings = Warnings()
    spec = provider_model("llm", {"model": "ai/qwen3", "context-size": "8192", "runtime-flags": "--temp 0.1",
                                  "speculative-draft-model": "ai/qwen3:0.6B-Q4_K_M", "speculative-num-tokens": "16",
                                  "speculative-min-acceptance-rate": "0.8", "backend": "vllm", "gpu": "yes"}, warnings)
    assert spec == {"model": "ai/qwen3", "context_size": 8192, "runtime_flags": ["--temp", "0.1"],
                    "speculative": {"draft_model": "ai/qwen3:0.6B-Q4_K_M", "num_tokens": 16, "min_acceptance_rate": 0.8}}
    assert [w.split(":")[1].split()[2] for w in warnings] == ["backend=vllm", "gpu"]
    runner = runner_values({"app": {"models": {"llm": None}}}, {"llm": spec})
    assert runner["models"] == ["ai/qwen3", "ai/qwen3:0.6B-Q4_K_M"]  # the draft is pulled too
    assert runner["configure"][0]["speculative"] == {"draftModel": "ai/qwen3:0.6B-Q4_K_M", "numTokens": 16,
                                                     "minAcceptanceRate": 0.8}
    with pytest.raises(BridgeError) as info:
        provider_model("llm", {"model": "m", "speculative-num-tokens": "many"}, Warnings())
    assert info.value.path == ("services", "llm", "provider", "options", "speculative-num-tokens")
