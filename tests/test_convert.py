"""End to end: compose in, chart out, helm lint/template, Kubernetes schema validation."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from chartcheck import by_kind, container_env, lint, one, script_of, template, validate
from cli import invoke
from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.helm


def convert(out: Path, *args: str) -> str:
    result = invoke(["convert", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sink") / "chart"
    os.environ.pop("DB_PASSWORD", None)
    convert(out, str(FIXTURES / "kitchen-sink" / "compose.yaml"))
    return out


@pytest.fixture(scope="module")
def sink_docs(sink: Path) -> list[dict]:
    return template(sink)


def test_kitchen_sink_lints_on_helm4_and_helm3(sink: Path) -> None:
    for version in (4, 3):
        lint([sink], version)
        lint([sink], version, {"modelRunner.enabled": "true", "hostPath.enabled": "true"})


def test_kitchen_sink_validates(sink: Path, sink_docs: list[dict]) -> None:
    validate(sink_docs)
    validate(template(sink, 3, {"hostPath.enabled": "true", "networkPolicies.enabled": "false"}))


def test_workload_kinds(sink_docs: list[dict]) -> None:
    assert {d["metadata"]["name"] for d in by_kind(sink_docs, "Deployment")} == {
        "rel-kitchen-sink-web-app", "rel-kitchen-sink-api", "rel-kitchen-sink-db", "rel-kitchen-sink-cache",
    }
    agent = one(sink_docs, "DaemonSet", "-node-agent")
    spec = agent["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "Unconfined"}


def test_image_pull_policy_entrypoint_command(sink_docs: list[dict]) -> None:
    web = one(sink_docs, "Deployment", "-web-app")
    c = web["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "registry.example.com:5000/team/web:2.1"
    assert c["imagePullPolicy"] == "Always"
    assert c["command"] == ["/docker-entrypoint.sh"]
    assert c["args"] == ["nginx", "-g", "daemon off;"]
    cache = one(sink_docs, "Deployment", "-cache")["spec"]["template"]["spec"]["containers"][0]
    assert cache["image"] == "redis:7@sha256:" + "0123456789abcdef" * 4
    assert cache["imagePullPolicy"] == "Never"
    api = one(sink_docs, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["image"] == "kitchen-sink-api:latest"


def test_environment_is_literal(sink_docs: list[dict]) -> None:
    env = container_env(one(sink_docs, "Deployment", "-web-app"))
    assert env["TEMPLATE_LOOKING"] == "{{ .Release.Name }}"
    assert env["LOOKUP"] == '{{ lookup "v1" "Secret" "" "" }}'
    assert env["QUOTES"] == "it's \"quoted\"\nand multi-line"
    assert "UNSET_VALUE" not in env


def test_ports_and_services(sink_docs: list[dict]) -> None:
    svc = one(sink_docs, "Service", "rel-kitchen-sink-web-app")
    ports = {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]}
    assert ports == {("http", 80, "TCP"), ("tcp-443", 443, "TCP"), ("udp-9000", 9000, "UDP"),
                     ("udp-9001", 9001, "UDP"), ("tcp-7000", 7000, "TCP")}
    assert all(len(p["name"]) <= 15 for p in svc["spec"]["ports"])
    # Published ports listen on the published port, as compose publishes them on the host.
    published = one(sink_docs, "Service", "rel-kitchen-sink-web-app-published")
    assert {(p["port"], p["targetPort"], p["protocol"]) for p in published["spec"]["ports"]} == {
        (8080, "http", "TCP"), (8443, "tcp-443", "TCP"), (9000, "udp-9000", "UDP"), (9001, "udp-9001", "UDP")}
    # Every service answers to its compose names: a ClusterIP Service on its known ports (a stable address
    # across rollouts), or a headless one on every port where no port is known.
    selector = svc["spec"]["selector"]
    for name in ("web-app", "web", "api", "cache"):
        alias = one(sink_docs, "Service", name)
        assert alias["spec"]["type"] == "ClusterIP" and "clusterIP" not in alias["spec"]
        main = one(sink_docs, "Service", f"rel-kitchen-sink-{'web-app' if name == 'web' else name}")
        assert alias["spec"]["ports"] == [{k: p[k] for k in ("name", "port", "targetPort", "protocol")}
                                          for p in main["spec"]["ports"]]
    assert one(sink_docs, "Service", "db")["spec"]["clusterIP"] == "None"
    assert one(sink_docs, "Service", "web")["spec"]["selector"] == selector  # hostname: web
    db = one(sink_docs, "Service", "db")
    assert db["spec"]["selector"]["app.kubernetes.io/component"] == "db"
    assert [p["port"] for p in db["spec"]["ports"]] == [55555]  # no declared port: the placeholder
    assert one(sink_docs, "Service", "rel-kitchen-sink-db-headless")["spec"]["clusterIP"] == "None"
    api = one(sink_docs, "Service", "rel-kitchen-sink-api")
    assert [p["port"] for p in api["spec"]["ports"]] == [3000]


def test_volumes(sink_docs: list[dict]) -> None:
    pvcs = {d["metadata"]["name"]: d for d in by_kind(sink_docs, "PersistentVolumeClaim")}
    assert set(pvcs) == {"rel-kitchen-sink-data-static", "rel-kitchen-sink-data-db-data"}
    assert pvcs["rel-kitchen-sink-data-db-data"]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    spec = one(sink_docs, "Deployment", "-web-app")["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in spec["volumes"]}
    # ./site is a project directory: its files come from a ConfigMap, tree kept.
    site = vols["bind-srv-site"]["configMap"]
    assert site["name"] == "rel-kitchen-sink-bind-web-app-srv-site"
    assert {i["path"] for i in site["items"]} == {
        p.relative_to(FIXTURES / "kitchen-sink" / "site").as_posix()
        for p in (FIXTURES / "kitchen-sink" / "site").rglob("*") if p.is_file()}
    assert vols["tmpfs-var-cache-nginx"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    assert vols["tmpfs-run"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Mi"}
    assert vols["sec-tls-cert"]["secret"]["items"] == [{"key": "tls-cert", "path": "tls-cert", "mode": 0o440}]
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["/run/secrets/api-key"]["subPath"] == "api-key"
    assert mounts["/etc/tls/cert.pem"]["readOnly"] is True
    assert mounts["/etc/nginx/conf.d/default.conf"]["subPath"] == "nginx-conf"
    assert mounts["/inline-config"]["subPath"] == "inline-config"
    assert one(sink_docs, "Deployment", "-web-app")["spec"]["strategy"]["type"] == "Recreate"


def test_hostpath_opt_in(sink: Path, sink_docs: list[dict]) -> None:
    agent = one(sink_docs, "DaemonSet", "-node-agent")["spec"]["template"]["spec"]
    assert "volumes" not in agent and "volumeMounts" not in agent["containers"][0]
    docs = template(sink, values={"hostPath.enabled": "true"})
    agent = one(docs, "DaemonSet", "-node-agent")["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in agent["volumes"]}
    assert vols["host-var-run-docker-sock"]["hostPath"]["path"] == "/var/run/docker.sock"
    assert agent["containers"][0]["volumeMounts"][0]["readOnly"] is True


def _install_args(output: str) -> list[str]:
    """The flags of the `helm install` command that `bridge convert` printed, as a shell runs them."""
    import shlex

    line = next(ln.strip() for ln in output.splitlines() if ln.strip().startswith("helm install "))
    return [os.path.expandvars(w) for w in shlex.split(line)[4:]]


def test_secrets_are_not_in_the_chart(sink: Path) -> None:
    assert not (sink / "files" / "secrets").exists()
    for secret in (FIXTURES / "kitchen-sink" / "secrets").iterdir():
        content = secret.read_bytes().strip()
        for path in sink.rglob("*"):
            if path.is_file():
                assert content not in path.read_bytes(), f"{secret.name} content copied into {path}"


def test_install_without_secret_values_names_the_flag(sink: Path) -> None:
    import subprocess

    from chartcheck import helm

    proc = subprocess.run([helm(4), "template", "r", str(sink)], capture_output=True, text=True)
    assert proc.returncode != 0
    # Helm stops at the first template that fails; each names its own exact flag.
    assert any(message in proc.stderr for message in (
        "secret api-key has no content: pass --set-file secrets.api-key.value=./secrets/api-key.txt",
        "secret tls-cert has no content: pass --set-file secrets.tls-cert.value=./secrets/cert.pem",
        'secret db-password has no content: pass --set-literal secrets.db-password.value=\\"$DB_PASSWORD\\"',
    )), proc.stderr


def test_printed_install_command_supplies_the_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The exact command `bridge convert` prints (and the chart README shows) installs the chart."""
    monkeypatch.chdir(FIXTURES / "kitchen-sink")
    monkeypatch.setenv("DB_PASSWORD", "from-the-shell")
    out = tmp_path / "chart"
    printed = convert(out, "compose.yaml")
    args = _install_args(printed)
    assert "--set-file" in args and "--set-literal" in args
    readme = (out / "README.md").read_text()
    command = next(ln for ln in printed.splitlines() if ln.strip().startswith("helm install ")).strip()
    assert f"```sh\n{command}\n```" in readme
    docs = template(out, secrets=False, args=args)
    validate(docs)
    secret = one(docs, "Secret", "-secret-api-key")
    assert base64.b64decode(secret["data"]["api-key"]) == b"s3cr3t-{{ .Values }}\n"
    assert base64.b64decode(one(docs, "Secret", "-secret-db-password")["data"]["db-password"]) == b"from-the-shell"
    assert base64.b64decode(one(docs, "Secret", "-secret-tls-cert")["data"]["tls-cert"]) == \
        (FIXTURES / "kitchen-sink" / "secrets" / "cert.pem").read_bytes()
    notes = (out / "templates" / "NOTES.txt").read_text()
    assert "helm upgrade" in notes


def test_existing_secret_needs_no_content(sink: Path) -> None:
    docs = template(sink, secrets=False, values={
        "secrets.api-key.existingSecret": "mine", "secrets.db-password.existingSecret": "mine2",
        "secrets.tls-cert.existingSecret": "mine3", "envSecrets.existingSecret": "mine4",
    })
    assert not by_kind(docs, "Secret")
    pod = one(docs, "Deployment", "-web-app")["spec"]["template"]["spec"]
    assert {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v} >= {"mine", "mine3"}


def test_embed_secrets_restores_embedding(tmp_path: Path) -> None:
    out = tmp_path / "chart"
    os.environ.pop("DB_PASSWORD", None)
    printed = convert(out, str(FIXTURES / "kitchen-sink" / "compose.yaml"), "--embed-secrets")
    assert "--embed-secrets copies its content into the chart" in printed
    assert (out / "files" / "secrets" / "api-key").is_file()
    docs = template(out)
    lint([out], 4)
    secret = one(docs, "Secret", "-secret-api-key")
    assert base64.b64decode(secret["data"]["api-key"]) == b"s3cr3t-{{ .Values }}\n"
    db_pw = one(docs, "Secret", "-secret-db-password")
    assert base64.b64decode(db_pw["data"]["db-password"]) == b"from-dotenv"


def test_secret_names_with_dots_get_escaped_set_keys(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("hunter2")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    secrets: [db.password]\n"
        "secrets:\n  db.password:\n    file: ./pw.txt\n"
    )
    out = tmp_path / "chart"
    printed = convert(out, str(tmp_path / "compose.yaml"))
    args = _install_args(printed)
    assert args[1].startswith("secrets.db\\.password.value=")
    docs = template(out, secrets=False, args=args)
    assert base64.b64decode(one(docs, "Secret", "-secret-db-password")["data"]["db-password"]) == b"hunter2"


def test_configs_stay_embedded(sink_docs: list[dict]) -> None:
    inline = one(sink_docs, "ConfigMap", "-config-inline-config")
    assert inline["data"]["inline-config"] == "key=value\nname={{ not a template }}\n"


def test_healthcheck_probes(sink_docs: list[dict]) -> None:
    """Readiness with compose's timings, a startupProbe over start_period, and no livenessProbe: compose
    gates on health and never restarts an unhealthy container."""
    web = one(sink_docs, "Deployment", "-web-app")["spec"]["template"]["spec"]["containers"][0]
    check = {"command": ["/bin/sh", "-c", "curl -fsS http://localhost/ || exit 1"]}
    assert web["readinessProbe"] == {"exec": check, "periodSeconds": 15, "timeoutSeconds": 3, "failureThreshold": 4}
    assert web["startupProbe"] == {"exec": check, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 24}
    assert "livenessProbe" not in web
    api = one(sink_docs, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    # compose's defaults, not Kubernetes' (10s period, 1s timeout)
    assert api["readinessProbe"] == {"exec": {"command": ["wget", "-qO-", "http://localhost:3000/health"]},
                                     "periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3}
    assert "startupProbe" not in api
    db = one(sink_docs, "Deployment", "-db")["spec"]["template"]["spec"]["containers"][0]
    assert "livenessProbe" not in db and "readinessProbe" not in db


def test_resources_security_scheduling(sink_docs: list[dict]) -> None:
    pod = one(sink_docs, "Deployment", "-web-app")["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["resources"] == {"limits": {"cpu": "1500m", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "128Mi"}}
    assert c["securityContext"]["runAsUser"] == 101 and c["securityContext"]["runAsGroup"] == 101
    assert c["securityContext"]["capabilities"] == {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["sysctls"] == [{"name": "net.core.somaxconn", "value": "1024"}]
    assert pod["securityContext"]["supplementalGroups"] == [2000]
    assert pod["nodeSelector"] == {"disk": "ssd", "kubernetes.io/os": "linux"}
    expr = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert expr["matchExpressions"] == [{"key": "zone", "operator": "NotIn", "values": ["eu-west-1c"]}]
    assert pod["terminationGracePeriodSeconds"] == 45
    assert pod["hostAliases"] == [{"ip": "169.254.169.254", "hostnames": ["metadata.internal"]}]
    assert pod["dnsConfig"] == {"nameservers": ["1.1.1.1"], "searches": ["example.internal"]}
    assert pod["hostname"] == "web" and c["workingDir"] == "/srv" and c["stdin"] and c["tty"]
    api = one(sink_docs, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["resources"] == {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"memory": "256Mi"}}
    assert api["securityContext"] == {"allowPrivilegeEscalation": True, "privileged": True}
    cache = one(sink_docs, "Deployment", "-cache")["spec"]["template"]["spec"]["containers"][0]
    assert cache["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"}}


def test_labels_annotations(sink_docs: list[dict]) -> None:
    web = one(sink_docs, "Deployment", "-web-app")
    labels = web["metadata"]["labels"]
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"):
        assert key in labels
    assert labels["com.docker.compose.project"] == "kitchen-sink"
    assert labels["com.docker.compose.service"] == "web-app"
    annotations = dict(web["spec"]["template"]["metadata"]["annotations"])
    # its mounted files' checksum rolls the pods when a file changes
    assert re.fullmatch(r"[0-9a-f]{64}", annotations.pop("checksum/config"))
    assert annotations == {
        "com.example.team": "frontend", "example.com/owner": "web-team",
        "traefik.http.routers.web.rule": "Host(`example.com`)",
    }


def test_depends_on_waits_for_service(sink_docs: list[dict]) -> None:
    api = one(sink_docs, "Deployment", "-api")["spec"]["template"]["spec"]
    waits = {c["name"]: {e["name"]: e["value"] for e in c["env"]} for c in api["initContainers"]
             if c["name"].startswith("wait-")}
    # db exposes no port and is still awaited: its headless Service resolves once it is ready.
    assert set(waits) == {"wait-for-cache", "wait-for-db"}
    assert waits["wait-for-db"] == {"HOST": "rel-kitchen-sink-db-headless", "WHAT": "db", "CONDITION": "started",
                                    "TIMEOUT": "300"}
    web = one(sink_docs, "Deployment", "-web-app")["spec"]["template"]["spec"]
    (wait,) = [c for c in web["initContainers"] if c["name"].startswith("wait-")]
    assert {e["name"]: e["value"] for e in wait["env"]}["CONDITION"] == "healthy"
    script = script_of(sink_docs, web, wait)
    assert 'curl -s -o /dev/null --max-time 2 "http://$HOST:55555/"' in script
    assert "[ $? -ne 6 ] && break" in script and "gave up waiting" in script
    assert wait["image"].startswith("curlimages/curl:")


def test_network_policies(sink_docs: list[dict]) -> None:
    names = {d["metadata"]["name"] for d in by_kind(sink_docs, "NetworkPolicy")}
    assert {"rel-kitchen-sink-net-front", "rel-kitchen-sink-net-back", "rel-kitchen-sink-web-app-published"} <= names
    back = one(sink_docs, "NetworkPolicy", "-net-back")
    assert back["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["network.compose-bridge.io/back"] == "true"
    db_labels = one(sink_docs, "Deployment", "-db")["spec"]["template"]["metadata"]["labels"]
    assert db_labels.get("network.compose-bridge.io/back") == "true" and "network.compose-bridge.io/front" not in db_labels


def test_set_overrides_reach_manifests(sink: Path) -> None:
    docs = template(sink, values={
        "web-app.replicas": "3", "web-app.image.tag": "9.9", "db.image.repository": "mirror/postgres",
        "web-app.service.type": "NodePort", "persistence.db-data.storageClass": "fast",
        "persistence.db-data.size": "20Gi", "cache.enabled": "false",
    })
    web = one(docs, "Deployment", "-web-app")
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com:5000/team/web:9.9"
    assert one(docs, "Deployment", "-db")["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror/postgres:16-alpine"
    assert one(docs, "Service", "rel-kitchen-sink-web-app")["spec"]["type"] == "NodePort"
    pvc = one(docs, "PersistentVolumeClaim", "-data-db-data")
    assert pvc["spec"]["storageClassName"] == "fast" and pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert not [d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-cache")]
    validate(docs)


def test_values_schema_rejects_bad_values(sink: Path) -> None:
    import subprocess

    from chartcheck import helm

    proc = subprocess.run([helm(4), "template", "r", str(sink), "--set", "web-app.replicas=-1"], capture_output=True, text=True)
    assert proc.returncode != 0 and "replicas" in proc.stderr
    proc = subprocess.run([helm(4), "template", "r", str(sink), "--set", "modelRunner.gpu.vendor=intel"], capture_output=True, text=True)
    assert proc.returncode != 0 and "vendor" in proc.stderr


def test_web_app_named_port_and_bind_mount(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web-app:\n"
        "    image: nginx\n"
        "    ports:\n"
        "      - name: http\n"
        "        target: 80\n"
        "        published: 8080\n"
        "    volumes:\n"
        "      - ./html:/usr/share/nginx/html\n"
    )
    out = tmp_path / "chart"
    convert(out, "-f", str(tmp_path / "compose.yaml"))
    lint([out], 4)
    lint([out], 3)
    docs = template(out)
    validate(docs)
    dep = one(docs, "Deployment", "-web-app")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    # ./html does not exist: compose would create it and keep what the app writes there, so a claim.
    (vol,) = [v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] not in ("seed-tools", "wait-scripts")]
    claim = one(docs, "PersistentVolumeClaim", "-bind-web-app-usr-share-nginx-html")
    assert vol == {"name": "bind-usr-share-nginx-html",
                   "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}
    values = (out / "values.yaml").read_text()
    assert "\nweb-app:\n" in values


def test_template_injection_is_inert(tmp_path: Path) -> None:
    hostile = '{{ .Release.Name }}'
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        "    image: busybox\n"
        "    environment:\n"
        f"      X: '{hostile}'\n"
        "    labels:\n"
        f"      example.com/note: '{hostile}'\n"
        "    volumes:\n"
        "      - type: tmpfs\n"
        f"        target: '/data/{hostile}'\n"
        "    healthcheck:\n"
        f"      test: ['CMD-SHELL', 'echo \"{hostile}\" `id` $$HOME']\n"
    )
    out = tmp_path / "chart"
    convert(out, "-f", str(tmp_path / "compose.yaml"))
    docs = template(out)
    validate(docs)
    dep = one(docs, "Deployment", "-app")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert container_env(dep)["X"] == hostile
    assert dep["spec"]["template"]["metadata"]["annotations"]["example.com/note"] == hostile
    assert c["volumeMounts"][0]["mountPath"] == f"/data/{hostile}"
    assert c["readinessProbe"]["exec"]["command"][2] == f'echo "{hostile}" `id` $HOME'


def test_output_is_deterministic(tmp_path: Path) -> None:
    """Same input, same output directory: byte-identical charts (the README's install command names
    the output directory, so that is part of the input)."""
    out = tmp_path / "a"

    def snapshot() -> dict:
        convert(out, str(FIXTURES / "kitchen-sink" / "compose.yaml"))
        return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    first = snapshot()
    import shutil

    shutil.rmtree(out)
    assert snapshot() == first


def test_chart_name_and_versions(tmp_path: Path) -> None:
    out = tmp_path / "chart"
    convert(out, str(FIXTURES / "multi" / "compose.yaml"), "--chart-name", "my-app", "--chart-version", "1.2.3-rc.1+build.5",
            "--app-version", "2024.1+sha.abc/def")
    lint([out], 4)
    docs = template(out)
    validate(docs)
    labels = one(docs, "Deployment", "-app")["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "2024.1_sha.abc_def"
    assert labels["helm.sh/chart"] == "my-app-1.2.3-rc.1_build.5"
    bad = invoke(["convert", str(FIXTURES / "multi" / "compose.yaml"), "-o", str(tmp_path / "x"),
                                    "--chart-version", "one"])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()
    for name in ("My App", "my_app", "-app", "a" * 54):
        # `--opt=VALUE` is argparse's way to pass a value that starts with `-`.
        bad = invoke(["convert", str(FIXTURES / "multi" / "compose.yaml"), "-o", str(tmp_path / "x"),
                      f"--chart-name={name}"])
        assert bad.exit_code == 2 and "not a valid chart name" in bad.output and not (tmp_path / "x").exists()


def test_check_mode_detects_drift(tmp_path: Path) -> None:
    out = tmp_path / "chart"
    src = str(FIXTURES / "multi" / "compose.yaml")
    convert(out, src)
    ok = invoke(["convert", src, "-o", str(out), "--check"])
    assert ok.exit_code == 0, ok.output
    (out / "values.yaml").write_text("tampered: true\n")
    drift = invoke(["convert", src, "-o", str(out), "--check"])
    assert drift.exit_code == 1
    assert "changed: values.yaml" in drift.output


def test_failed_convert_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n    models: [missing]\n")
    out = tmp_path / "chart"
    result = invoke(["convert", str(tmp_path / "compose.yaml"), "-o", str(out)])
    assert result.exit_code == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["compose.yaml"]


def test_refuses_to_overwrite_a_foreign_directory(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = invoke(["convert", str(FIXTURES / "multi" / "compose.yaml"), "-o", str(out)])
    assert result.exit_code == 1 and "refusing" in result.output
    assert (out / "notes.txt").read_text() == "keep me"


def test_custom_templates_override_a_subset(tmp_path: Path) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "NOTES.txt.j2").write_text("Custom notes for [[ chart.project ]].\n")
    out = tmp_path / "chart"
    convert(out, str(FIXTURES / "multi" / "compose.yaml"), "--templates", str(custom))
    assert (out / "templates" / "NOTES.txt").read_text() == "Custom notes for multi.\n"
    assert (out / "templates" / "app-deployment.yaml").is_file()


def test_colliding_names_are_reported(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web_app:\n    image: x\n  web-app:\n    image: y\n")
    result = invoke(["convert", str(tmp_path / "compose.yaml"), "-o", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert "both become 'web-app'" in result.output


def test_optional_ingress_to_the_published_port(sink: Path) -> None:
    assert not by_kind(template(sink), "Ingress")
    docs = template(sink, values={"web-app.ingress.enabled": "true", "web-app.ingress.host": "shop.example.com",
                                  "web-app.ingress.className": "nginx"})
    validate(docs)
    ingress = one(docs, "Ingress", "-web-app")
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "shop.example.com" and ingress["spec"]["ingressClassName"] == "nginx"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "rel-kitchen-sink-web-app-published", "port": {"number": 8080}}


def test_an_installed_package_writes_the_same_chart(tmp_path: Path) -> None:
    """A regular (non-editable) install carries every module, template and script the checkout has."""
    import subprocess
    import sys

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), str(ROOT)], check=True, capture_output=True)
    compose = FIXTURES / "kitchen-sink" / "compose.yaml"
    charts = {}
    for name, path in (("installed", site), ("checkout", ROOT)):
        (tmp_path / name).mkdir()
        result = subprocess.run([sys.executable, "-m", "bridge", "convert", str(compose), "-o", "chart"],
                                cwd=tmp_path / name, capture_output=True, text=True,
                                env={"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert result.returncode == 0, result.stderr
        chart = tmp_path / name / "chart"
        charts[name] = {p.relative_to(chart): p.read_bytes() for p in chart.rglob("*") if p.is_file()}
    assert charts["installed"] == charts["checkout"]


def test_claims_keep_data_off_the_volume_root(tmp_path: Path) -> None:
    """A fresh block volume's root holds lost+found: the data goes into a folder of the claim (values
    persistence.<volume>.subPath), compose's own `subpath` below it; an external volume as it is."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pg:/var/lib/postgresql/data\n"
        "      - type: volume\n        source: pg\n        target: /backup\n        volume: {subpath: backups}\n"
        "      - old:/old\nvolumes:\n  pg: {}\n  old: {external: true}\n")
    out = tmp_path / "chart"
    convert(out, str(tmp_path / "compose.yaml"))
    mounts = {m["mountPath"]: m.get("subPath") for m in
              one(template(out), "Deployment", "-db")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts == {"/var/lib/postgresql/data": "data", "/backup": "data/backups", "/old": None}
    mounts = {m["mountPath"]: m.get("subPath") for m in one(template(out, values={"persistence.pg.subPath": ""}),
              "Deployment", "-db")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts == {"/var/lib/postgresql/data": None, "/backup": "backups", "/old": None}
