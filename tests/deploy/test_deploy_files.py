"""Deployment files: parsed and checked, and nginx's routing exercised over real HTTP.

Without a Docker daemon or a cluster, this is what can be checked: the compose file through the
compose CLI when one is installed, the nginx config by a real nginx in front of local backends.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.ci import unavailable
from tests.support.postgres import ROOT

DEPLOY = ROOT / "deploy"
SERVICES = ("ihr", "backups", "gateway", "arxiv", "mentorship")
UPSTREAMS = ("core", *SERVICES)
SECRET_KEYS = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY", re.IGNORECASE)


def load_yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


# --- Docker Compose ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(DEPLOY / "docker-compose.yml")["services"]
    return data


class TestCompose:
    def test_core_services_and_images(self, services: dict[str, Any]) -> None:
        assert {"postgres", "redis", "migrate", "app"} <= set(services)
        assert services["postgres"]["image"] == "postgres:16"
        assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
        assert services["redis"]["image"] == "redis:7-alpine"
        assert "ping" in services["redis"]["healthcheck"]["test"]

    def test_migrate_waits_for_postgres_then_runs_once(self, services: dict[str, Any]) -> None:
        migrate = services["migrate"]
        assert migrate["command"] == [
            "/app/db/scripts/wait-for.sh",
            "postgres:5432",
            "-t",
            "60",
            "-s",
            "--",
            "dockyard",
            "db",
            "init",
        ]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"

    def test_app_starts_after_a_successful_migration(self, services: dict[str, Any]) -> None:
        app = services["app"]
        assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert app["depends_on"]["redis"]["condition"] == "service_healthy"
        assert app["environment"]["WEB_CONCURRENCY"] == "${WEB_CONCURRENCY:-2}"
        assert app["ports"] == ["8000:8000"]
        assert "command" not in app  # the image's `dockyard serve ... --no-migrate`

    def test_split_profile_has_one_container_per_service(self, services: dict[str, Any]) -> None:
        for name in SERVICES:
            container = services[f"app-{name}"]
            assert container["profiles"] == ["split"]
            assert container["command"][:2] == ["dockyard", "serve"]
            assert container["command"][-2:] == ["--service", name]
            assert "--no-migrate" in container["command"]
            assert container["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert "ports" not in container  # reached through nginx only
        assert services["app-core"]["environment"]["SERVICES"] == "accounts"
        nginx = services["nginx"]
        assert nginx["profiles"] == ["split"]
        assert nginx["image"] == "nginx:1.27-alpine"
        assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
        assert set(nginx["depends_on"]) == {f"app-{name}" for name in UPSTREAMS}

    def test_the_backups_scheduler_keeps_its_backups_on_a_volume(self, services: dict[str, Any]) -> None:
        scheduler = services["backups-scheduler"]
        assert scheduler["command"] == ["dockyard", "backups", "scheduler"]
        store = scheduler["environment"]["BACKUPS_STORE"]
        assert f"backupstore:{store}" in scheduler["volumes"]
        assert scheduler["depends_on"]["migrate"]["condition"] == "service_completed_successfully"

    def test_every_app_container_uses_the_image_read_only(self, services: dict[str, Any]) -> None:
        for name in ("migrate", "app", "backups-scheduler", *(f"app-{name}" for name in UPSTREAMS)):
            assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile", name
            assert services[name]["read_only"] is True, name
            assert services[name]["tmpfs"] == ["/tmp"], name

    def test_secrets_are_required_interpolations(self, services: dict[str, Any]) -> None:
        seen = 0
        for name, service in services.items():
            for key, value in (service.get("environment") or {}).items():
                if SECRET_KEYS.search(key):
                    seen += 1
                    assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name}.{key} = {value!r}"
                for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", str(value)):
                    assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", password), f"{name}.{key} embeds a password"
        assert seen >= 2  # POSTGRES_PASSWORD and JWT_SECRET at least

    def test_env_example_holds_no_values_for_secrets(self) -> None:
        lines = (DEPLOY / ".env.example").read_text().splitlines()
        settings = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
        assert {"POSTGRES_PASSWORD", "JWT_SECRET"} <= set(settings)
        for key, value in settings.items():
            if SECRET_KEYS.search(key):
                assert value == "", key


def compose_cli() -> list[str] | None:
    """`docker compose` (v2) when it works, else a standalone `docker-compose`, else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    found = shutil.which("docker-compose")
    return [found] if found else None


class TestComposeCli:
    @pytest.fixture
    def run(self, tmp_path: Path) -> Any:
        cli = compose_cli()
        if cli is None:
            unavailable("no compose CLI (docker compose or docker-compose) installed")
        empty_env_file = tmp_path / "empty.env"  # never read a developer's deploy/.env
        empty_env_file.write_text("")
        base = [*cli, "-f", str(DEPLOY / "docker-compose.yml"), "--env-file", str(empty_env_file)]
        clean = {k: v for k, v in os.environ.items() if k not in {"POSTGRES_PASSWORD", "JWT_SECRET"}}

        def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*base, *args], capture_output=True, text=True, env={**clean, **env}, timeout=60, check=False
            )

        return run

    def test_config_is_valid(self, run: Any) -> None:
        done = run("config", "-q", POSTGRES_PASSWORD="x", JWT_SECRET="y" * 32)
        assert done.returncode == 0, done.stderr

    def test_split_profile_lists_every_container(self, run: Any) -> None:
        done = run("--profile", "split", "config", "--services", POSTGRES_PASSWORD="x", JWT_SECRET="y" * 32)
        assert done.returncode == 0, done.stderr
        listed = set(done.stdout.split())
        expected = {"postgres", "redis", "migrate", "app", "backups-scheduler", "nginx"}
        assert listed == expected | {f"app-{n}" for n in UPSTREAMS}

    @pytest.mark.parametrize("missing", ["POSTGRES_PASSWORD", "JWT_SECRET"])
    def test_refuses_to_start_without_a_secret(self, run: Any, missing: str) -> None:
        given = {"POSTGRES_PASSWORD": "x", "JWT_SECRET": "y" * 32}
        del given[missing]
        done = run("config", "-q", **given)
        assert done.returncode != 0
        assert f"set {missing}" in done.stderr


# --- Dockerfile --------------------------------------------------------------------------------


class TestDockerfile:
    text = (DEPLOY / "Dockerfile").read_text()

    def instructions(self, name: str) -> list[str]:
        joined = re.sub(r"\\\n", " ", self.text)  # continuation lines
        return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(f"{name} ")]

    def test_multi_stage_copies_the_venv_from_the_build_stage(self) -> None:
        stages = self.instructions("FROM")
        assert len(stages) == 2
        assert stages[0].endswith(" AS build")
        assert "COPY --from=build /opt/venv /opt/venv" in self.text
        assert "pip install ." in self.text
        assert re.search(r"^ARG PYTHON_IMAGE=python:3\.12-slim-(bookworm|trixie)$", self.text, re.MULTILINE)

    def test_runs_as_uid_10001(self) -> None:
        assert self.instructions("USER") == ["10001:10001"]
        assert "useradd --uid 10001 --gid 10001" in self.text

    def test_postgresql_client_matches_the_compose_server(self) -> None:
        server = load_yaml(DEPLOY / "docker-compose.yml")["services"]["postgres"]["image"].split(":")[1]
        assert f"ARG PG_MAJOR={server}" in self.text
        assert '"postgresql-client-${PG_MAJOR}"' in self.text
        for tool in ("bash", "netcat-openbsd"):  # the db scripts and wait-for.sh
            assert tool in self.text

    def test_environment_healthcheck_and_command(self) -> None:
        env = " ".join(self.instructions("ENV"))
        for setting in ("DB_DIR=/app/db", "PYTHONUNBUFFERED=1", "PATH=/opt/venv/bin:$PATH"):
            assert setting in env
        assert "COPY db /app/db" in self.text
        assert self.instructions("EXPOSE") == ["8000"]
        (healthcheck,) = self.instructions("HEALTHCHECK")
        assert "urllib.request" in healthcheck
        assert "http://127.0.0.1:8000/healthz" in healthcheck
        assert "--start-period=60s" in healthcheck
        assert "--timeout=10s" in healthcheck
        (command,) = self.instructions("CMD")
        serve = ["dockyard", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]  # noqa: S104
        assert json.loads(command) == serve

    def test_dockerignore_allows_exactly_what_the_build_copies(self) -> None:
        rules = [
            line.strip()
            for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert rules[0] == "*"  # an allow-list: everything else (.venv, .git, .env, ...) stays out
        allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
        copied = {
            source.rstrip("/")
            for args in self.instructions("COPY")
            if not args.startswith("--from")
            for source in args.split()[:-1]
        }
        assert copied == allowed == {"pyproject.toml", "README.md", "src", "db"}
        assert {"**/.env", "**/__pycache__"} <= set(rules)


# --- Kubernetes -------------------------------------------------------------------------------


def k8s(name: str) -> dict[str, Any]:
    return load_yaml(DEPLOY / "k8s" / name)


class TestKubernetes:
    def test_kustomization_lists_every_manifest_but_the_example_secret(self) -> None:
        listed = k8s("kustomization.yaml")["resources"]
        on_disk = {path.name for path in (DEPLOY / "k8s").glob("*.yaml")}
        assert set(listed) == on_disk - {"kustomization.yaml", "secret.example.yaml"}
        kinds = {k8s(name)["kind"] for name in listed}
        assert kinds == {"ConfigMap", "Deployment", "Service", "Job", "PersistentVolumeClaim"}
        for name in on_disk:  # namespace-agnostic: `kubectl -n` or an overlay picks one
            assert "namespace" not in k8s(name).get("metadata", {}), name
            assert "namespace" not in k8s(name), name

    def test_the_backups_scheduler_writes_to_its_claim_as_a_non_root_user(self) -> None:
        spec = k8s("backups-scheduler.yaml")["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["command"] == ["dockyard", "backups", "scheduler"]
        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"name": "BACKUPS_STORE", "value": mounts["backups"]} in container["env"]
        claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in spec["volumes"]}
        assert claims["backups"] == k8s("backups-store.yaml")["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True

    def test_deployment_probes_replicas_and_command(self) -> None:
        deployment = k8s("deployment.yaml")["spec"]
        assert deployment["replicas"] == 2
        assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        (container,) = deployment["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        # Booting under load: liveness waits for a startup probe with two minutes of patience.
        startup = container["startupProbe"]
        assert startup["httpGet"] == {"path": "/healthz", "port": "http"}
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
        assert container["livenessProbe"]["timeoutSeconds"] >= 10
        assert container["ports"] == [{"name": "http", "containerPort": 8000}]
        assert container["command"][-1] == "--no-migrate"
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["limits"]["memory"]

    @pytest.mark.parametrize(
        ("name", "kind"), [("deployment.yaml", "Deployment"), ("migrate-job.yaml", "Job")]
    )
    def test_pods_run_non_root_on_a_read_only_filesystem(self, name: str, kind: str) -> None:
        manifest = k8s(name)
        assert manifest["kind"] == kind
        pod = manifest["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert mounts == {"tmp": "/tmp"}
        assert "emptyDir" in volumes["tmp"]
        assert {"configMapRef": {"name": "dockyard"}} in container["envFrom"]
        assert {"secretRef": {"name": "dockyard"}} in container["envFrom"]

    def test_migrate_job_runs_db_init_once(self) -> None:
        job = k8s("migrate-job.yaml")["spec"]
        assert job["template"]["spec"]["restartPolicy"] == "Never"
        assert job["template"]["spec"]["containers"][0]["command"] == ["dockyard", "db", "init"]

    def test_service_targets_the_app_pods(self) -> None:
        service = k8s("service.yaml")["spec"]
        pod_labels = k8s("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
        assert service["selector"].items() <= pod_labels.items()
        assert service["ports"][0]["targetPort"] == "http"

    def test_example_secret_holds_placeholders_only(self) -> None:
        data = k8s("secret.example.yaml")["stringData"]
        assert {"DATABASE_URL", "JWT_SECRET"} <= set(data)
        for key, value in data.items():
            if SECRET_KEYS.search(key):
                assert "CHANGE-ME" in value, key
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert password == "CHANGE-ME", key
        assert not SECRET_KEYS.search(" ".join(k8s("configmap.yaml")["data"]))


# --- nginx -------------------------------------------------------------------------------------

NGINX_CONF = (DEPLOY / "nginx.conf").read_text()
UPSTREAM_SERVER = re.compile(r"server app-([a-z]+):8000 resolve;")
STREAM_BYTES = 128 * 1024 * 1024  # far beyond what socket buffers on both sides of nginx can hold


@dataclass(frozen=True)
class Nginx:
    """An installed nginx: its path, version and build options."""

    binary: str
    version: tuple[int, ...]
    build: str

    def config(
        self, tmp_path: Path, *, listen: int | None = None, upstreams: dict[str, int] | None = None
    ) -> Path:
        """A copy of deploy/nginx.conf runnable here: own pid and temp paths, optionally local ports.

        With `upstreams`, each `server app-NAME:8000 resolve;` points at 127.0.0.1:PORT instead
        (compose's names do not resolve outside compose, and `resolve` needs nginx >= 1.27.3).
        """
        text, pids = re.subn(r"^pid .*;$", f"pid {tmp_path}/nginx.pid;", NGINX_CONF, flags=re.MULTILINE)
        assert pids == 1
        # Temp folders under tmp_path, so nginx needs no write access to its compiled-in ones.
        kinds = ["client_body", "proxy"] + [
            kind for kind in ("fastcgi", "uwsgi", "scgi") if f"--without-http_{kind}_module" not in self.build
        ]
        temp = "".join(f"    {kind}_temp_path {tmp_path}/{kind};\n" for kind in kinds)
        text = text.replace("http {\n", "http {\n" + temp, 1)
        if listen is not None:
            text, listens = re.subn(r"listen 8080;", f"listen 127.0.0.1:{listen};", text)
            assert listens == 1
        if upstreams is not None:
            text, servers = UPSTREAM_SERVER.subn(lambda m: f"server 127.0.0.1:{upstreams[m.group(1)]};", text)
            assert servers == len(UPSTREAMS)
        config = tmp_path / "nginx.conf"
        config.write_text(text)
        return config


@pytest.fixture(scope="module")
def nginx() -> Nginx:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).exists()), None
    )
    if found is None:
        unavailable("nginx is not installed; apt-get install nginx-light")
    build = subprocess.run([found, "-V"], capture_output=True, text=True, check=False).stderr
    version = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", build)
    assert version is not None, build
    return Nginx(found, tuple(int(part) for part in version.groups()), build)


def test_nginx_config_routes_every_prefix_to_its_own_upstream() -> None:
    assert sorted(UPSTREAM_SERVER.findall(NGINX_CONF)) == sorted(UPSTREAMS)
    for name in SERVICES:
        location = re.search(rf"location /{name}/ *\{{(.*?)\}}", NGINX_CONF, re.DOTALL)
        assert location is not None, name
        assert f"proxy_pass http://app_{name};" in location.group(1)
    assert re.search(r"location / *\{ *proxy_pass http://app_core; *\}", NGINX_CONF)
    assert "resolver 127.0.0.11" in NGINX_CONF  # Docker's DNS, needed by `resolve`


def test_nginx_accepts_the_config(nginx: Nginx, tmp_path: Path) -> None:
    if nginx.version >= (1, 27, 3):
        config = nginx.config(tmp_path)  # as shipped: with `resolve`, no name must resolve yet
    else:
        config = nginx.config(tmp_path, upstreams=dict.fromkeys(UPSTREAMS, 8000))
    done = subprocess.run(
        [nginx.binary, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


class Backend(BaseHTTPRequestHandler):
    """Answers with what it received; /…/stream sends STREAM_BYTES, /gateway/upload reports what arrived."""

    protocol_version = "HTTP/1.1"
    server: BackendServer

    def do_GET(self) -> None:
        if self.path.endswith("/stream"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.write_chunk(b"first\n")
            block = b"x" * (256 * 1024)
            try:
                while self.server.streamed < STREAM_BYTES:
                    self.write_chunk(block)
                    self.server.streamed += len(block)
                self.write_chunk(b"")
            except OSError:  # the client went away
                pass
            return
        self.answer({})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        head = self.rfile.read(64 * 1024)
        self.server.first_part_received.set()
        rest = self.rfile.read(length - len(head))
        self.answer({"received": len(head) + len(rest)})

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def answer(self, extra: dict[str, Any]) -> None:
        body = json.dumps(
            {
                "upstream": self.server.name,
                "path": self.path,
                "version": self.request_version,
                "headers": {key.lower(): value for key, value in self.headers.items()},
                **extra,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BackendServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), Backend)
        self.name = name
        self.streamed = 0
        self.first_part_received = threading.Event()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proxy:
    """A running nginx with deploy/nginx.conf in front of one local backend per upstream."""

    def __init__(self, port: int, backends: dict[str, BackendServer]) -> None:
        self.port = port
        self.backends = backends

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None]:
        conn = self.connect()
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            is_json = response.getheader("Content-Type") == "application/json"
            return response.status, json.loads(body) if is_json else None
        finally:
            conn.close()


@pytest.fixture(scope="module")
def proxy(nginx: Nginx, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    tmp_path = tmp_path_factory.mktemp("nginx")
    backends = {name: BackendServer(name) for name in UPSTREAMS}
    for backend in backends.values():
        threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = free_port()
    ports = {name: backend.server_address[1] for name, backend in backends.items()}
    config = nginx.config(tmp_path, listen=port, upstreams=ports)
    with (tmp_path / "nginx.log").open("w") as log:
        server = subprocess.Popen(
            [nginx.binary, "-e", "stderr", "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert server.poll() is None, (tmp_path / "nginx.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.1)
        yield Proxy(port, backends)
    finally:
        server.terminate()
        server.wait(10)
        for backend in backends.values():
            backend.shutdown()
            backend.server_close()


class TestNginxRouting:
    @pytest.mark.parametrize(
        ("path", "upstream"),
        [
            *((f"/{name}/api/x?y=1", name) for name in SERVICES),
            ("/", "core"),
            ("/docs", "core"),
            ("/openapi.json", "core"),
            ("/healthz", "core"),
            ("/readyz", "core"),
            ("/static/app.css", "core"),
            ("/ihrx", "core"),  # a prefix is a whole path segment
        ],
    )
    def test_path_prefix_picks_the_upstream(self, proxy: Proxy, path: str, upstream: str) -> None:
        status, body = proxy.get(path)
        assert status == 200
        assert body is not None
        assert body["upstream"] == upstream
        assert body["path"] == path  # passed on unchanged, query included

    def test_metrics_are_not_proxied(self, proxy: Proxy) -> None:
        status, body = proxy.get("/metrics")
        assert status == 404
        assert body is None  # nginx's own answer, no backend involved

    def test_request_id_is_kept_or_generated(self, proxy: Proxy) -> None:
        _, kept = proxy.get("/ihr/x", {"X-Request-ID": "client-id-42"})
        assert kept is not None
        assert kept["headers"]["x-request-id"] == "client-id-42"
        _, made = proxy.get("/ihr/x")
        assert made is not None
        assert re.fullmatch(r"[0-9a-f]{32}", made["headers"]["x-request-id"])

    def test_forwarded_headers_and_keepalive_upstream(self, proxy: Proxy) -> None:
        _, body = proxy.get("/gateway/x", {"Host": "dockyard.example.org"})
        assert body is not None
        headers = body["headers"]
        assert headers["x-forwarded-for"] == "127.0.0.1"
        assert headers["x-forwarded-proto"] == "http"
        assert headers["host"] == "dockyard.example.org"
        assert body["version"] == "HTTP/1.1"
        assert "connection" not in headers  # no `Connection: close`: upstream connections are reused

    @pytest.mark.parametrize("prefix", ["/arxiv", "/gateway", "/ihr", "/backups"])
    def test_responses_stream_unbuffered(self, proxy: Proxy, prefix: str) -> None:
        backend = proxy.backends[prefix.strip("/")]
        backend.streamed = 0
        conn = proxy.connect()
        try:
            conn.request("GET", f"{prefix}/export/stream")
            response = conn.getresponse()
            assert response.status == 200
            assert response.readline() == b"first\n"  # the first chunk comes through at once
            # While the client reads nothing, a buffering proxy would drain the backend into its
            # own buffers and temp files; an unbuffered one holds it back after a few socket buffers.
            time.sleep(1)
            held_at = backend.streamed
            assert held_at < STREAM_BYTES / 2, f"the proxy took {held_at} bytes the client had not read"
            assert len(response.read()) == STREAM_BYTES
        finally:
            conn.close()

    def test_gateway_uploads_stream_past_the_default_body_limit(self, proxy: Proxy) -> None:
        backend = proxy.backends["gateway"]
        backend.first_part_received.clear()
        size = 20 * 1024 * 1024  # above the 16m limit of the other prefixes
        conn = proxy.connect()
        try:
            conn.putrequest("POST", "/gateway/feeds/push")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            conn.send(b"x" * (64 * 1024))
            # Unbuffered: the backend has the first part before the client sends the rest.
            assert backend.first_part_received.wait(5)
            conn.send(b"x" * (size - 64 * 1024))
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["received"] == size
        finally:
            conn.close()

    def test_other_prefixes_cap_request_bodies(self, proxy: Proxy) -> None:
        conn = proxy.connect()
        try:
            conn.putrequest("POST", "/ihr/api/x")
            conn.putheader("Content-Length", str(17 * 1024 * 1024))
            conn.endheaders()
            response = conn.getresponse()
            assert response.status == 413
        finally:
            conn.close()
