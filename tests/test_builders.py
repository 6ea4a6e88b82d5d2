"""Fast unit tests of the per-feature builders (no Helm, no files but tmp_path)."""

from __future__ import annotations

from pathlib import Path

from bridge.builders.lifecycle import lifecycle_hooks
from bridge.builders.models import apply_providers
from bridge.builders.names import compose_names, service_names
from bridge.builders.oneshots import job_settings, oneshot_services, waits
from bridge.builders.ports import published_ports
from bridge.builders.probes import probes
from bridge.builders.volumes import plan_bind
from bridge.model import Warnings


# reach ------------------------------------------------------------------------------------------------
def test_compose_names_in_compose_order() -> None:
    services = {
        "db": {"networks": {"back": {"aliases": ["postgres", "pg"]}}, "container_name": "main-db"},
        "app": {"links": ["db:database", "cache"], "hostname": "apphost"},
        "cache": {},
    }
    assert compose_names(services) == {
        "db": ["db", "postgres", "pg", "main-db", "database"],
        "app": ["app", "apphost"],
        "cache": ["cache"],
    }


def test_names_kubernetes_cannot_hold_warn_with_their_users() -> None:
    warnings = Warnings()
    services = {"search_engine": {}, "app": {"environment": {"URL": "http://search_engine:9200", "X": "1"}}}
    names = service_names(services, warnings)
    assert names["search_engine"].aliases == [] and names["search_engine"].invalid == ["search_engine"]
    assert names["app"].aliases == ["app"]
    assert len(warnings) == 1 and "'search_engine'" in warnings[0] and "(used by app.URL)" in warnings[0]


def test_the_api_servers_name_is_not_taken() -> None:
    warnings = Warnings()
    assert service_names({"kubernetes": {}}, warnings)["kubernetes"].aliases == []
    assert "taken by Kubernetes itself" in warnings[0]


def test_a_name_two_services_claim_goes_to_the_first() -> None:
    warnings = Warnings()
    services = {"a": {"networks": {"n": {"aliases": ["shared"]}}}, "b": {"networks": {"n": {"aliases": ["shared"]}}}}
    names = service_names(services, warnings)
    assert names["a"].aliases == ["a", "shared"] and names["b"].aliases == ["b"]
    assert "also a name of service a" in warnings[0]


def test_published_service_listens_on_published_ports() -> None:
    svc = {"ports": [{"target": 80, "published": "8080", "protocol": "tcp"},
                     {"target": 53, "published": "5353", "protocol": "udp"},
                     {"target": 9000}]}
    ports = [{"name": "http", "containerPort": 80, "protocol": "TCP"},
             {"name": "udp-53", "containerPort": 53, "protocol": "UDP"},
             {"name": "tcp-9000", "containerPort": 9000, "protocol": "TCP"}]
    assert published_ports(svc, ports) == [
        {"name": "tcp-8080", "port": 8080, "targetPort": "http", "protocol": "TCP"},
        {"name": "udp-5353", "port": 5353, "targetPort": "udp-53", "protocol": "UDP"}]
    assert published_ports({"expose": ["80"]}, ports) == []


# mounts -----------------------------------------------------------------------------------------------
def test_project_file_is_config_with_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("server {}\n")
    files: dict[str, bytes] = {}
    plan = plan_bind(str(tmp_path / "nginx.conf"), "/etc/nginx/nginx.conf", True, str(tmp_path), "files/m/x", files)
    assert plan.kind == "config" and [f.key for f in plan.files] == ["nginx.conf"]
    assert files == {"files/m/x/0000": b"server {}\n"}


def test_project_directory_keeps_its_tree_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "conf" / "sub").mkdir(parents=True)
    (tmp_path / "conf" / "a.yml").write_text("a: 1\n")
    (tmp_path / "conf" / "sub" / "b.bin").write_bytes(b"\xff\x00")
    (tmp_path / "conf" / "x.bak").write_text("kept: .helmignore patterns cannot drop numbered files\n")
    files: dict[str, bytes] = {}
    plan = plan_bind(str(tmp_path / "conf"), "/etc/app", True, str(tmp_path), "files/m/c", files)
    assert plan.kind == "config"
    assert [(f.path, f.key, f.text) for f in plan.files] == [
        ("a.yml", "a.yml", True), ("x.bak", "x.bak", True), ("sub/b.bin", "sub__b.bin", False)]
    assert sorted(files) == ["files/m/c/0000", "files/m/c/0001", "files/m/c/0002"]


def test_data_paths_are_claims(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "PG_VERSION").write_text("16\n")
    files: dict[str, bytes] = {}
    assert plan_bind(str(tmp_path / "missing"), "/data", False, str(tmp_path), "f", files).kind == "data"
    assert plan_bind(str(tmp_path / "empty"), "/cfg", True, str(tmp_path), "f", files).kind == "data"
    assert plan_bind(str(tmp_path / "pg"), "/var/lib/postgresql/data", False, str(tmp_path), "f", files).kind == "data"
    assert plan_bind(str(tmp_path / "pg"), "/var/lib/postgresql/data", True, str(tmp_path), "f", files).kind == "config"
    (tmp_path / "big").write_bytes(b"x" * (1024 * 1024))
    assert plan_bind(str(tmp_path / "big"), "/big", True, str(tmp_path), "f", files).kind == "data"


def test_host_paths_are_host(tmp_path: Path) -> None:
    files: dict[str, bytes] = {}
    assert plan_bind("/var/run/docker.sock", "/var/run/docker.sock", False, str(tmp_path), "f", files).kind == "host"
    assert plan_bind(str(tmp_path.parent), "/up", True, str(tmp_path), "f", files).kind == "host"
    assert files == {}


# probes -----------------------------------------------------------------------------------------------
def test_probes_take_composes_defaults() -> None:
    readiness, startup = probes({"test": ["CMD", "true"]})
    assert readiness == {"exec": {"command": ["true"]}, "periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3}
    assert startup == {}


def test_start_period_is_a_startup_probe() -> None:
    hc = {"test": ["CMD-SHELL", "pg_isready"], "interval": "10s", "timeout": "2s", "retries": 5,
          "start_period": "1m", "start_interval": "3s"}
    readiness, startup = probes(hc)
    assert readiness["exec"]["command"] == ["/bin/sh", "-c", "pg_isready"] and readiness["periodSeconds"] == 10
    assert startup == {"exec": {"command": ["/bin/sh", "-c", "pg_isready"]}, "periodSeconds": 3,
                       "timeoutSeconds": 2, "failureThreshold": 25}


def test_disabled_or_none_healthchecks_have_no_probe() -> None:
    assert probes({"test": ["NONE"]}) == ({}, {})
    assert probes({"test": ["CMD", "x"], "disable": True}) == ({}, {})
    assert probes(None) == ({}, {})


# one-shots and waits ----------------------------------------------------------------------------------
def test_oneshots_and_their_retries() -> None:
    services = {
        "migrate": {"restart": "on-failure:3"},
        "seed": {},
        "app": {"depends_on": {"migrate": {"condition": "service_completed_successfully"},
                               "seed": {"condition": "service_completed_successfully"},
                               "db": {"condition": "service_healthy"}}},
        "db": {},
    }
    assert oneshot_services(services) == {"migrate", "seed"}
    assert job_settings("migrate", services["migrate"], Warnings()) == {"backoffLimit": 3, "restartPolicy": "OnFailure"}
    assert job_settings("seed", services["seed"], Warnings()) == {"backoffLimit": 0, "restartPolicy": "Never"}
    warnings = Warnings()
    assert job_settings("x", {"restart": "always"}, warnings)["backoffLimit"] == 6 and warnings


def test_waits_follow_conditions_and_skip_optional_ones() -> None:
    svc = {"depends_on": {"db": {"condition": "service_healthy"}, "migrate": {"condition": "service_completed_successfully"},
                          "cache": {"condition": "service_started", "required": False}}}
    labels = {"db": "db", "migrate": "migrate", "cache": "cache"}
    out = waits("app", svc, labels, dict(labels), {"migrate"}, Warnings())
    assert [(w["service"], w["condition"]) for w in out] == [("db", "healthy"), ("migrate", "completed")]


# lifecycle --------------------------------------------------------------------------------------------
def test_lifecycle_hooks() -> None:
    warnings = Warnings()
    svc = {"post_start": [{"command": ["touch", "/ready"], "user": "root"}],
           "pre_stop": [{"command": "nginx -s quit"}, {"command": ["sleep", "1"]}]}
    hooks = lifecycle_hooks("web", svc, warnings)
    assert hooks["postStart"] == {"exec": {"command": ["touch", "/ready"]}}
    assert hooks["preStop"] == {"exec": {"command": ["/bin/sh", "-c", "/bin/sh -c 'nginx -s quit' && sleep 1"]}}
    assert warnings == ["service web: post_start.user has no Kubernetes equivalent; the hook runs with the "
                        "container's own settings"]


# providers --------------------------------------------------------------------------------------------
def test_model_providers_become_models_bound_like_compose_up() -> None:
    services = {
        "app": {"image": "x", "depends_on": {"my-llm": {"condition": "service_started"}, "db": {}}},
        "db": {"image": "postgres"},
        "my-llm": {"provider": {"type": "model", "options": {"model": ["ai/smollm2"], "context-size": ["512"]}}},
        "other": {"provider": {"type": "awesomecloud", "options": {}}},
    }
    warnings = Warnings()
    out, models = apply_providers(services, {}, warnings)
    assert sorted(out) == ["app", "db"]
    assert models == {"my-llm": {"model": "ai/smollm2", "context_size": 512}}
    assert out["app"]["models"] == {"my-llm": {"endpoint_var": "MY-LLM_URL", "model_var": "MY-LLM_MODEL"}}
    assert out["app"]["depends_on"] == {"db": {}}
    assert services["app"]["depends_on"] != out["app"]["depends_on"]  # the project is not changed
    assert "provider type 'awesomecloud'" in warnings[0]


def test_network_mode_service_joins_the_pod_of_the_chain_end() -> None:
    from bridge.builders.names import sidecar_roots

    warnings = Warnings()
    services = {"vpn": {}, "app": {"network_mode": "service:vpn"}, "probe": {"network_mode": "service:app"},
                "a": {"network_mode": "service:b"}, "b": {"network_mode": "service:a"}, "host": {"network_mode": "host"}}
    assert sidecar_roots(services, warnings) == {"app": "vpn", "probe": "vpn"}
    assert len(warnings) == 2 and all("loops" in w for w in warnings)
