"""End-to-end test of `--web.config.file` on the exporter binary, with real clients.

Starts, on 127.0.0.1 and free ports, the exporter in demo mode (binary from
$ACS_EXPORTER_BIN, default .build/debug/acs-ingestion-exporter) with a web
configuration that turns on TLS (certificates made here with Debian's openssl),
client certificates and basic auth, then checks with curl, openssl and
Debian's Prometheus:

  * check-config and the daemon refuse a broken web configuration with one
    line naming the key, and a non-zero exit;
  * health endpoints answer without credentials, every other path asks for them;
  * Prometheus scraping over HTTPS with basic_auth and a client certificate
    sees up == 1, with a wrong password up == 0, and the exporter counts the 401s
    in acs_ingestion_http_requests_total{code="401"};
  * the write API is usable by a user of api.write_users and refused to others
    (docs/web-security.md);
  * a certificate replaced on disk is presented by the next handshake;
  * --web.max-requests is accepted.

Assumes the daemon has the flags `--web.config.file FILE` and `--web.max-requests N`
(exporter-toolkit's names), that `check-config` takes `--web.config.file`, that
`--demo` accepts `--config.file` for the `api.write_users` key, and the metric
names of docs/web-security.md. The module is skipped while the binary does not
exist or its --help does not mention --web.config.file (before it is wired).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import HOST, Processes, free_port, port_open, require_exporter, wait_until

STARTUP_TIMEOUT = 60
ALICE_HASH = "$2y$10$6RbrUj59QxEt3ZU8/rNC6emfoMzyMyvEYhbwSRRdQpObcVSPRxExC"  # "correct horse", htpasswd -nBC 10
READER_HASH = "$2y$04$FHZcHv/h0mrBhtyDvoQEauGHR09HXcOgC7BdF56eq2SkHtIVev8na"  # "battery staple"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


class Certificates:
    """A CA, two server certificates for 127.0.0.1 and a client certificate, made with openssl."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.ca("ca")
        self.leaf("server", "1001", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        self.leaf("server2", "2002", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        self.leaf("client", "3003", "subjectAltName=DNS:prometheus.example\nextendedKeyUsage=clientAuth\n")

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def ca(self, name: str) -> None:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", self.path(f"{name}.key"), "-out", self.path(f"{name}.crt"), "-subj", "/CN=e2e CA",
                "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name: str, serial: str, extensions: str) -> None:
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", self.path(f"{name}.key"), "-out", self.path(f"{name}.csr"), "-subj", f"/CN={name}")
        (self.dir / f"{name}.ext").write_text(extensions)
        openssl("x509", "-req", "-in", self.path(f"{name}.csr"), "-CA", self.path("ca.crt"),
                "-CAkey", self.path("ca.key"), "-set_serial", f"0x{serial}", "-days", "1",
                "-out", self.path(f"{name}.crt"), "-extfile", self.path(f"{name}.ext"))


def curl(*args: str) -> tuple[int, dict[str, str], str]:
    """Status, headers (names lower-cased) and body of one curl request; status 0 when no answer arrived."""
    with tempfile.TemporaryDirectory() as directory:
        headers_file, body_file = Path(directory) / "headers", Path(directory) / "body"
        out = subprocess.run(["curl", "-sS", "--max-time", "10", "-D", str(headers_file), "-o", str(body_file),
                              "-w", "%{http_code}", *args], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return 0, {}, out.stderr
        # Bytes, not read_text(): universal newlines would turn the "\r\n" separators into "\n".
        blocks = [b for b in headers_file.read_bytes().decode("latin-1").split("\r\n\r\n") if b.startswith("HTTP/")]
        headers = {}
        for line in blocks[-1].split("\r\n")[1:] if blocks else []:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(out.stdout or 0), headers, body_file.read_text(errors="replace")


def server_serial(port: int) -> str:
    out = subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{port}", "-servername", "localhost"],
                         input="", capture_output=True, text=True, timeout=30)
    pem = out.stdout[out.stdout.index("-----BEGIN CERTIFICATE-----"):out.stdout.index("-----END CERTIFICATE-----") + 25]
    serial = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True, text=True)
    return serial.stdout.strip().removeprefix("serial=").lower()


class Exporter:
    """The exporter over HTTPS with basic auth and client certificates, following the
    simulator's standard scenario (tenant acme-mkt-prod1, mapping XDM44)."""

    def __init__(self, tmp: Path, certificates: Certificates, processes: Processes):
        self.tmp = tmp
        self.certs = certificates
        self.processes = processes
        self.port = free_port()
        self.simulator_port = free_port(exclude={self.port})
        self.web_config = tmp / "web.yml"
        self.config = tmp / "config.yml"
        shutil.copy(certificates.path("server.crt"), tmp / "tls.crt")
        shutil.copy(certificates.path("server.key"), tmp / "tls.key")
        self.web_config.write_text(f"""
tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {certificates.path('ca.crt')}
basic_auth_users:
  alice: {ALICE_HASH}
  reader: {READER_HASH}
""")
        simulator = f"http://{HOST}:{self.simulator_port}"
        self.config.write_text(f"""
tenants:
  - name: acme-mkt-prod1
    api_url: {simulator}
    ims_token_url: {simulator}/ims/token/v3
    client_id: sim-client
    client_secret: sim-secret
    mappings: [{{id: XDM44}}]
storage:
  path: {tmp / 'store.sqlite'}
api:
  write_users: [alice]
""")

    def argv(self, web_config: Path | None = None) -> list[str]:
        return [str(require_exporter()), "--config.file", str(self.config), "--web.listen-address", f"{HOST}:{self.port}",
                "--web.config.file", str(web_config or self.web_config), "--web.max-requests", "40"]

    def start(self) -> None:
        simulator = self.processes.exporter("simulator", "simulate", "--web.listen-address", f"{HOST}:{self.simulator_port}")
        wait_until("the simulator", lambda: port_open(self.simulator_port), timeout=STARTUP_TIMEOUT, watch=[simulator])
        exporter = self.processes.start("exporter", self.argv())
        wait_until("the exporter to answer /-/healthy", lambda: self.get("/-/healthy", auth=False)[0] == 200,
                   timeout=STARTUP_TIMEOUT, watch=[exporter])

    def get(self, path: str, auth: bool = True, user: str = "alice:correct horse", client_cert: bool = True,
            *extra: str) -> tuple[int, dict[str, str], str]:
        args = ["--cacert", self.certs.path("ca.crt")]
        if client_cert:
            args += ["--cert", self.certs.path("client.crt"), "--key", self.certs.path("client.key")]
        if auth:
            args += ["-u", user]
        return curl(*args, *extra, f"https://{HOST}:{self.port}{path}")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def exporter(tmp_path_factory, certificates):
    tmp = tmp_path_factory.mktemp("web-security")
    group = Processes(tmp)
    try:
        e = Exporter(tmp, certificates, group)
        e.start()
        yield e
    finally:
        group.stop_all()


def test_check_config_names_the_key(tmp_path):
    bad = tmp_path / "web.yml"
    bad.write_text("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n")
    out = subprocess.run([str(require_exporter()), "check-config", "--web.config.file", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "tls_server_config.cipher_suites" in out.stdout + out.stderr


def test_the_daemon_refuses_a_broken_web_config_in_one_line(tmp_path, certificates, processes):
    e = Exporter(tmp_path, certificates, processes)
    broken = tmp_path / "broken.yml"
    broken.write_text("basic_auth_users:\n  alice: not-a-bcrypt-hash\n")
    out = subprocess.run(e.argv(broken), capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "basic_auth_users.alice" in lines[0], lines
    assert "not-a-bcrypt-hash" not in lines[0]


def test_health_is_open_and_everything_else_asks_for_credentials(exporter):
    assert exporter.get("/-/healthy", auth=False)[0] == 200
    assert exporter.get("/-/ready", auth=False)[0] == 200
    status, headers, _ = exporter.get("/metrics", auth=False)
    assert status == 401 and headers.get("www-authenticate", "").startswith("Basic realm=")
    assert exporter.get("/metrics", user="alice:wrong")[0] == 401
    assert exporter.get("/metrics")[0] == 200
    assert exporter.get("/metrics", client_cert=False)[0] == 0  # refused in the handshake


def test_the_status_page_and_api_carry_security_headers(exporter):
    for path in ["/", "/api/v1/mappings"]:
        status, headers, _ = exporter.get(path)
        assert status == 200, path
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), path
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("referrer-policy") == "no-referrer", path


def test_prometheus_scrapes_with_basic_auth_and_a_client_certificate(exporter, tmp_path):
    prometheus = os.environ.get("PROMETHEUS_BIN", shutil.which("prometheus") or "/usr/bin/prometheus")
    if not Path(prometheus).exists():
        pytest.fail("prometheus not found: apt-get install prometheus, or set PROMETHEUS_BIN")
    jobs = []
    for job, password in [("good", "correct horse"), ("bad", "wrong")]:
        jobs.append(f"""
  - job_name: {job}
    scheme: https
    basic_auth: {{username: alice, password: "{password}"}}
    tls_config:
      ca_file: {exporter.certs.path('ca.crt')}
      cert_file: {exporter.certs.path('client.crt')}
      key_file: {exporter.certs.path('client.key')}
    static_configs: [{{targets: ["{HOST}:{exporter.port}"]}}]""")
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:"
                                              + "".join(jobs) + "\n")
    port = free_port()
    group = Processes(tmp_path)
    try:
        server = group.start("prometheus", [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                                            f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address={HOST}:{port}"])
        seen = {}

        def both_scraped():
            status, _, body = curl("--data-urlencode", "query=up", f"http://{HOST}:{port}/api/v1/query")
            if status != 200:
                return False
            seen.clear()
            seen.update({s["metric"]["job"]: s["value"][1] for s in json.loads(body)["data"]["result"]})
            return len(seen) == 2
        wait_until("both jobs scraped", both_scraped, timeout=STARTUP_TIMEOUT, watch=[server])
        assert seen == {"good": "1", "bad": "0"}
    finally:
        group.stop_all()

    def refused_counted():
        _, _, metrics = exporter.get("/metrics")
        refused = [line for line in metrics.splitlines()
                   if line.startswith("acs_ingestion_http_requests_total{") and 'code="401"' in line]
        return sum(float(line.rsplit(" ", 1)[1]) for line in refused) >= 1
    wait_until("the 401s counted in acs_ingestion_http_requests_total", refused_counted, timeout=30)


def test_the_write_api_is_for_write_users_only(exporter):
    body = json.dumps({"tenant": "acme-mkt-prod1", "mapping": "XDM44", "requestId": 3520})
    args = ("-H", "Content-Type: application/json", "-d", body)
    assert exporter.get("/api/v1/requests", True, "alice:correct horse", True, *args)[0] in (200, 201)
    assert exporter.get("/api/v1/requests", True, "reader:battery staple", True, *args)[0] == 403
    assert exporter.get("/api/v1/requests", False, "", True, *args)[0] == 401


def test_a_rotated_certificate_is_presented_without_a_restart(exporter):
    assert server_serial(exporter.port) == "1001"
    for name in ("crt", "key"):
        staged = exporter.tmp / f"tls.{name}.new"
        shutil.copy(exporter.certs.path(f"server2.{name}"), staged)
        os.replace(staged, exporter.tmp / f"tls.{name}")
    wait_until("the new certificate", lambda: server_serial(exporter.port) == "2002", timeout=30)
    assert exporter.get("/metrics")[0] == 200
