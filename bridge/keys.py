"""Every key of a compose service, with where it goes in the chart or why it cannot.

This table is the contract that nothing is dropped silently: `build` warns, once per service and key,
for each `warn` key a service sets, and tests/test_keys.py checks that the table lists every key of
the compose-spec service schema and that each `warn` key really warns.
"""

from __future__ import annotations

from typing import Any

MAPPED = "mapped"  # becomes part of the chart (see the note)
LOADER = "loader"  # consumed while loading, like `docker compose config` does
WARN = "warn"  # no Kubernetes equivalent: one warning per service

# key -> (kind, where it goes / why not, a sample value for tests)
SERVICE_KEYS: dict[str, tuple[str, str, Any]] = {
    "annotations": (MAPPED, "pod annotations", {"a.example/b": "c"}),
    "attach": (WARN, "log attachment is a `docker compose up` console setting", False),
    "blkio_config": (WARN, "block IO weights and limits", {"weight": 300}),
    "build": (MAPPED, "image <project>-<service> in values, with a warning", {"context": "."}),
    "cap_add": (MAPPED, "securityContext.capabilities.add", ["NET_ADMIN"]),
    "cap_drop": (MAPPED, "securityContext.capabilities.drop", ["ALL"]),
    "cgroup": (WARN, "cgroup namespace mode", "host"),
    "cgroup_parent": (WARN, "parent cgroup", "m-executor-abcd"),
    "command": (MAPPED, "container args", ["echo", "hi"]),
    "configs": (MAPPED, "ConfigMap mounted at the target", None),
    "container_name": (MAPPED, "one more headless Service of that name", None),
    "cpu_count": (WARN, "Windows CPU count", 2),
    "cpu_percent": (WARN, "Windows CPU percent", 50),
    "cpu_period": (WARN, "CFS period", 100000),
    "cpu_quota": (WARN, "CFS quota", 50000),
    "cpu_rt_period": (WARN, "real-time period", 1000),
    "cpu_rt_runtime": (WARN, "real-time runtime", 950),
    "cpu_shares": (WARN, "relative CPU weight", 512),
    "cpus": (MAPPED, "resources.limits.cpu", 0.5),
    "cpuset": (WARN, "CPU pinning", "0-1"),
    "credential_spec": (WARN, "Windows credential spec", {"file": "spec.json"}),
    "depends_on": (MAPPED, "init containers that wait", None),
    "deploy": (MAPPED, "replicas, mode, resources, placement (other deploy keys warn)", None),
    "develop": (WARN, "compose watch is for local development", {"watch": [{"path": "./src", "action": "sync", "target": "/src"}]}),
    "device_cgroup_rules": (WARN, "device cgroup rules", ["c 1:3 mr"]),
    "devices": (WARN, "host devices (use a device plugin)", ["/dev/fuse"]),
    "dns": (MAPPED, "dnsConfig.nameservers", ["1.1.1.1"]),
    "dns_opt": (MAPPED, "dnsConfig.options", ["ndots:2"]),
    "dns_search": (MAPPED, "dnsConfig.searches", ["example.com"]),
    "domainname": (WARN, "the container's NIS domain name", "example.com"),
    "entrypoint": (MAPPED, "container command", ["/bin/sh"]),
    "env_file": (LOADER, "read into `environment`", None),
    "environment": (MAPPED, "container env", {"A": "b"}),
    "expose": (MAPPED, "containerPorts and the ClusterIP Service", ["8000"]),
    "extends": (LOADER, "merged in", None),
    "external_links": (WARN, "links to containers outside the project", ["other_db:db"]),
    "extra_hosts": (MAPPED, "hostAliases (host-gateway warns)", ["metadata:169.254.169.254"]),
    "gpus": (MAPPED, "nvidia.com/gpu limits", "all"),
    "group_add": (MAPPED, "supplementalGroups", ["2000"]),
    "healthcheck": (MAPPED, "readinessProbe and startupProbe", None),
    "hostname": (MAPPED, "pod hostname and a headless Service of that name", None),
    "image": (MAPPED, "container image", "nginx"),
    "init": (WARN, "an init process in the container (use an image with tini)", True),
    "ipc": (WARN, "IPC namespace mode", "host"),
    "isolation": (WARN, "Windows isolation", "process"),
    "label_file": (LOADER, "read into `labels`", None),
    "labels": (MAPPED, "pod annotations", {"a": "b"}),
    "links": (MAPPED, "aliases: headless Services named like them", None),
    "logging": (WARN, "logging driver (the cluster collects container logs)", {"driver": "json-file"}),
    "mac_address": (WARN, "fixed MAC address", "02:42:ac:11:00:02"),
    "mem_limit": (MAPPED, "resources.limits.memory", "256m"),
    "mem_reservation": (MAPPED, "resources.requests.memory", "128m"),
    "mem_swappiness": (WARN, "swappiness", 10),
    "memswap_limit": (WARN, "swap limit", "1g"),
    "models": (MAPPED, "model env vars and the modelRunner block", None),
    "network_mode": (MAPPED, "host: hostNetwork; service:X: a container in X's pod; other modes warn", None),
    "networks": (MAPPED, "NetworkPolicies; aliases become headless Services", None),
    "oom_kill_disable": (WARN, "OOM killer switch", True),
    "oom_score_adj": (WARN, "OOM score", 100),
    "pid": (WARN, "PID namespace mode", "host"),
    "pids_limit": (WARN, "PID limit (a kubelet setting)", 100),
    "platform": (MAPPED, "nodeSelector kubernetes.io/os and arch", "linux/amd64"),
    "ports": (MAPPED, "containerPorts, a ClusterIP Service and a Service on the published ports", ["8080:80"]),
    "post_start": (MAPPED, "lifecycle.postStart", [{"command": ["echo", "started"]}]),
    "pre_stop": (MAPPED, "lifecycle.preStop", [{"command": ["echo", "stopping"]}]),
    "privileged": (MAPPED, "securityContext.privileged", True),
    "profiles": (LOADER, "selects the services", None),
    "provider": (MAPPED, "model providers: a model like a top-level models entry", None),
    "pull_policy": (MAPPED, "imagePullPolicy", "always"),
    "pull_refresh_after": (WARN, "image refresh interval", "1h"),
    "read_only": (MAPPED, "securityContext.readOnlyRootFilesystem", True),
    "restart": (MAPPED, "Deployments always restart; one-shots become Jobs", None),
    "runtime": (WARN, "OCI runtime (a RuntimeClass in Kubernetes)", "runc"),
    "scale": (MAPPED, "replicas", 2),
    "secrets": (MAPPED, "Secret mounted at the target", None),
    "security_opt": (MAPPED, "seccomp:unconfined; other options warn", None),
    "shm_size": (MAPPED, "emptyDir medium Memory at /dev/shm", "64m"),
    "stdin_open": (MAPPED, "container stdin", True),
    "stop_grace_period": (MAPPED, "terminationGracePeriodSeconds", "20s"),
    "stop_signal": (WARN, "stop signal (Kubernetes sends SIGTERM; set STOPSIGNAL in the image)", "SIGINT"),
    "storage_opt": (WARN, "storage driver options", {"size": "1G"}),
    "sysctls": (MAPPED, "pod securityContext.sysctls", {"net.core.somaxconn": 1024}),
    "tmpfs": (MAPPED, "emptyDir medium Memory", ["/run"]),
    "tty": (MAPPED, "container tty", True),
    "ulimits": (WARN, "resource limits of the process (a container runtime setting)", {"nofile": 1024}),
    "use_api_socket": (WARN, "the Docker API socket", True),
    "user": (MAPPED, "securityContext.runAsUser/runAsGroup", "1000"),
    "userns_mode": (WARN, "user namespace mode", "host"),
    "uts": (WARN, "UTS namespace mode", "host"),
    "volumes": (MAPPED, "PVCs, ConfigMaps of project files, hostPath on request, emptyDir", None),
    "volumes_from": (WARN, "mounts of another container", ["container:legacy"]),
    "working_dir": (MAPPED, "workingDir", "/srv"),
}

# deploy sub-keys the chart maps; the others warn.
DEPLOY_MAPPED = {"mode", "replicas", "resources", "placement"}


def unsupported_warnings(name: str, svc: dict) -> list[str]:
    """One warning per key of `svc` that has no Kubernetes equivalent."""
    out = []
    for key in sorted(svc):
        kind, why, _ = SERVICE_KEYS.get(key, (MAPPED, "", None))
        if kind == WARN and svc[key] is not None and svc[key] != [] and svc[key] != {}:
            out.append(f"service {name}: {key} has no Kubernetes equivalent ({why}); ignored")
    for key in sorted(svc.get("deploy") or {}):
        if key not in DEPLOY_MAPPED and svc["deploy"][key] not in (None, [], {}):
            out.append(f"service {name}: deploy.{key} has no Kubernetes equivalent here; ignored")
    mode = svc.get("network_mode")
    if mode and mode != "host" and not str(mode).startswith("service:"):
        out.append(f"service {name}: network_mode {mode} has no Kubernetes equivalent; it runs in a pod of "
                   f"its own")
    for opt in svc.get("security_opt") or []:
        if str(opt).replace("=", ":") != "seccomp:unconfined":
            out.append(f"service {name}: security_opt {opt} has no Kubernetes equivalent here; ignored")
    return out
