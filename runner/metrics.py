"""Prometheus text metrics, without a client library."""

from __future__ import annotations

import threading
from collections import defaultdict


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in sorted(labels.items()))
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple, int] = defaultdict(int)
        self.tokens: dict[str, int] = defaultdict(int)
        self.loads: dict[str, list[float]] = defaultdict(list)
        self.pulls: dict[str, int] = defaultdict(int)

    def request(self, route: str, status: int) -> None:
        with self.lock:
            self.requests[(route, str(status))] += 1

    def generated(self, model: str, n: int) -> None:
        with self.lock:
            self.tokens[model] += n

    def observe_load(self, model: str, seconds: float) -> None:
        with self.lock:
            self.loads[model].append(seconds)

    def pulled(self, outcome: str) -> None:
        with self.lock:
            self.pulls[outcome] += 1

    def render(self, loaded: int) -> str:
        lines = [
            "# HELP model_runner_requests_total HTTP requests by route and status.",
            "# TYPE model_runner_requests_total counter",
        ]
        with self.lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f"model_runner_requests_total{_labels({'route': route, 'status': status})} {n}")
            lines += ["# HELP model_runner_generated_tokens_total Tokens generated per model.",
                      "# TYPE model_runner_generated_tokens_total counter"]
            for model, n in sorted(self.tokens.items()):
                lines.append(f"model_runner_generated_tokens_total{_labels({'model': model})} {n}")
            lines += ["# HELP model_runner_model_load_seconds Time to load a model.",
                      "# TYPE model_runner_model_load_seconds summary"]
            for model, values in sorted(self.loads.items()):
                lines.append(f"model_runner_model_load_seconds_count{_labels({'model': model})} {len(values)}")
                lines.append(f"model_runner_model_load_seconds_sum{_labels({'model': model})} {sum(values):.6f}")
            lines += ["# HELP model_runner_pulls_total Model pulls by outcome.", "# TYPE model_runner_pulls_total counter"]
            for outcome, n in sorted(self.pulls.items()):
                lines.append(f"model_runner_pulls_total{_labels({'outcome': outcome})} {n}")
        lines += ["# HELP model_runner_loaded_models Workers with a model in memory.",
                  "# TYPE model_runner_loaded_models gauge", f"model_runner_loaded_models {loaded}"]
        return "\n".join(lines) + "\n"
