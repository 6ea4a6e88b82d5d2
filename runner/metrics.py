"""Prometheus metrics through prometheus-client, in a registry of the app's own (several apps in one
process, as in tests, do not share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter("model_runner_requests", "HTTP requests by route and status.",
                                 ["route", "status"], registry=self.registry)
        self._tokens = Counter("model_runner_generated_tokens", "Tokens generated per model.", ["model"],
                               registry=self.registry)
        self._loads = Summary("model_runner_model_load_seconds", "Time to load a model.", ["model"],
                              registry=self.registry)
        self._pulls = Counter("model_runner_pulls", "Model pulls by outcome.", ["outcome"], registry=self.registry)
        self._reused = Counter("model_runner_prompt_tokens_reused", "Prompt tokens taken from a slot's KV cache.",
                               ["model"], registry=self.registry)
        self._drafted = Counter("model_runner_draft_tokens", "Tokens a draft model proposed (speculative decoding).",
                                ["model"], registry=self.registry)
        self._accepted = Counter("model_runner_draft_accepted_tokens", "Draft tokens the model accepted.", ["model"],
                                 registry=self.registry)
        self._loaded = Gauge("model_runner_loaded_models", "Workers with a model in memory.", registry=self.registry)

    def request(self, route: str, status: int) -> None:
        self._requests.labels(route, str(status)).inc()

    def generated(self, model: str, n: int) -> None:
        self._tokens.labels(model).inc(n)

    def drafted(self, model: str, proposed: int, accepted: int) -> None:
        self._drafted.labels(model).inc(proposed)
        self._accepted.labels(model).inc(accepted)

    def reused(self, model: str, n: int) -> None:
        self._reused.labels(model).inc(n)

    def observe_load(self, model: str, seconds: float) -> None:
        self._loads.labels(model).observe(seconds)

    def pulled(self, outcome: str) -> None:
        self._pulls.labels(outcome).inc()

    def render(self, loaded: int) -> bytes:
        self._loaded.set(loaded)
        return generate_latest(self.registry)
