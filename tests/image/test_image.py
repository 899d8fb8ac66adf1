"""The OCI image (make image) in podman: what its configuration promises, and
the exporter running from it with a read-only root filesystem and a data volume
against the simulator (itself run from the same image).

    ACS_IMAGE=dist/acs-ingestion-exporter-VERSION.linux-ARCH.oci.tar python3 -m pytest -q tests/image

`make test-image` builds the image and runs this. Needs root podman with runc
(crun refuses this host's hybrid cgroup layout) and ulimits below the hard limits.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PODMAN = ["podman", "--runtime", "runc"]
ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
HOST = "127.0.0.1"
DATA_DIR = "/var/lib/acs-ingestion-exporter"
CONFIG_FILE = "/etc/acs-ingestion-exporter/acs-ingestion-exporter.yml"
MAX_SIZE_MIB = 120
STOP_SECONDS = 5
RECORDS = re.compile(r'^acs_ingestion_records_ingested_total\{[^}]*mapping="XDM44"[^}]*\} (\S+)$', re.M)
REQUESTS = re.compile(r'^acs_ingestion_requests_total\{[^}]*status="success"[^}]*\} (\S+)$', re.M)


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*PODMAN, *args], check=check, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def metrics(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return None


def value(pattern: re.Pattern, text: str | None) -> float:
    m = pattern.search(text or "")
    return float(m.group(1)) if m else 0.0


def wait_for(what: str, condition, timeout: float = 60, container: str | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.25)
    logs = podman("logs", container, check=False).stderr[-3000:] if container else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")


@pytest.fixture(scope="module")
def archive() -> Path:
    path = os.environ.get("ACS_IMAGE")
    if not path:
        pytest.skip("ACS_IMAGE is not set (make test-image sets it)")
    if shutil.which("podman") is None:
        pytest.fail("podman not found: apt-get install podman runc (make test-image installs them)")
    archive = Path(path) if Path(path).is_absolute() else REPO / path
    assert archive.exists(), f"{archive}: run make image"
    return archive


@pytest.fixture(scope="module")
def image(archive) -> str:
    """The image's reference once loaded; the index names it."""
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))
    reference = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
    loaded = podman("load", "-i", str(archive))
    assert reference in loaded.stdout, loaded.stdout
    return reference


@pytest.fixture(scope="module")
def inspected(image) -> dict:
    return json.loads(podman("image", "inspect", image).stdout)[0]


def test_reference_is_name_and_version(image):
    version = re.search(r'^let version = "(.*)"$', (REPO / "Package.swift").read_text(), re.M).group(1)
    assert image == f"acs-ingestion-exporter:{version}"


def test_configuration(inspected):
    config = inspected["Config"]
    uid, gid = config["User"].split(":")
    assert int(uid) > 0 and int(gid) > 0, "a fixed non-root uid:gid"
    assert "10193/tcp" in config["ExposedPorts"]
    assert config["StopSignal"] == "SIGTERM"
    assert DATA_DIR in config["Volumes"]
    assert config["Entrypoint"] == ["/usr/bin/acs-ingestion-exporter"]
    assert f"--config.file={CONFIG_FILE}" in config["Cmd"]
    assert f"--storage.path={DATA_DIR}/acs-ingestion.sqlite" in config["Cmd"]


def test_labels_say_what_and_when(inspected):
    labels = inspected["Config"]["Labels"]
    for key in ("version", "revision", "source", "licenses", "created"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert re.fullmatch(r"[0-9a-f]{40}", labels["org.opencontainers.image.revision"])
    # created is the commit's date, not the build's: the image is reproducible
    committed = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%ct",
                                labels["org.opencontainers.image.revision"]],
                               capture_output=True, text=True)
    if committed.returncode == 0:
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(committed.stdout)))
        assert labels["org.opencontainers.image.created"] == created


def test_size(inspected):
    size_mib = inspected["Size"] / 2**20
    print(f"image size: {size_mib:.1f} MiB uncompressed")
    assert size_mib <= MAX_SIZE_MIB


SCENARIO = """\
tenants:
  - name: acme-mkt-prod1
    mappings:
      - {id: XDM44, duration: 1s, records: 100, outcomes: {success: 100}}
faults: {throttle: 0, server_error: 0, unavailable: 0}
"""


def exporter_config(simulator_port: int) -> str:
    simulator = f"http://{HOST}:{simulator_port}"
    return f"""\
tenants:
  - name: acme-mkt-prod1
    api_url: {simulator}
    ims_token_url: {simulator}/ims/token/v3
    client_id: sim-client
    client_secret: sim-secret
    mappings:
      - {{id: XDM44, trigger_every: 5s}}
collector:
  poll_interval: 1s
  trigger_jitter: 0s
"""


class Containers:
    """Containers and a volume of this test run, all removed at the end."""

    def __init__(self, image: str, tmp: Path):
        self.image, self.tmp = image, tmp
        self.suffix = uuid.uuid4().hex[:8]
        self.names: list[str] = []
        self.volume = f"acs-test-{self.suffix}"
        podman("volume", "create", self.volume)

    def run(self, name: str, *args: str, mounts: list[str] = ()) -> str:
        name = f"{name}-{self.suffix}"
        self.names.append(name)
        volumes = [a for m in mounts for a in ("-v", m)]
        # No tmpfs either: the volume is the only writable path.
        podman("run", "-d", "--name", name, *ULIMITS, "--network", "host",
               "--read-only", "--read-only-tmpfs=false", *volumes, self.image, *args)
        return name

    def pid(self, name: str) -> int:
        return int(podman("inspect", "-f", "{{.State.Pid}}", name).stdout)

    def cleanup(self) -> None:
        for name in self.names:
            podman("rm", "-f", "-v", "-t", "0", name, check=False)  # -v: the image VOLUME's anonymous one
        podman("volume", "rm", "-f", self.volume, check=False)


@pytest.fixture
def containers(image, tmp_path):
    group = Containers(image, tmp_path)
    try:
        yield group
    finally:
        group.cleanup()


def test_runs_read_only_as_non_root_stops_cleanly_and_keeps_its_counters(containers, tmp_path):
    simulator_port, exporter_port = free_port(), free_port()
    (tmp_path / "scenario.yml").write_text(SCENARIO)
    (tmp_path / "config.yml").write_text(exporter_config(simulator_port))
    simulator = containers.run("acs-sim", "simulate", "--scenario", "/scenario.yml",
                               "--web.listen-address", f"{HOST}:{simulator_port}",
                               mounts=[f"{tmp_path / 'scenario.yml'}:/scenario.yml:ro"])
    mounts = [f"{containers.volume}:{DATA_DIR}", f"{tmp_path / 'config.yml'}:{CONFIG_FILE}:ro"]
    # The image's own command line (config, storage path), with a free port instead of :10193.
    args = [f"--config.file={CONFIG_FILE}", f"--storage.path={DATA_DIR}/acs-ingestion.sqlite",
            f"--web.listen-address={HOST}:{exporter_port}"]

    first = containers.run("acs-exporter-1", *args, mounts=mounts)
    assert podman("inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", first).stdout.strip() == "true"
    before = wait_for("records in /metrics", lambda: value(RECORDS, metrics(exporter_port)) >= 300 and metrics(exporter_port),
                      container=first)
    status = Path(f"/proc/{containers.pid(first)}/status").read_text()
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    assert uid != 0, "the exporter runs as root"
    rss_kib = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
    print(f"exporter RSS: {rss_kib / 1024:.1f} MiB")

    started = time.monotonic()
    podman("stop", "-t", "30", first)
    stop_seconds = time.monotonic() - started
    print(f"podman stop: {stop_seconds:.2f} s")
    assert stop_seconds < STOP_SECONDS
    assert podman("inspect", "-f", "{{.State.ExitCode}}", first).stdout.strip() == "0"
    # what it served last, after the stop (nothing is counted after it exited)
    records, requests = value(RECORDS, before), value(REQUESTS, before)
    assert records > 0 and requests > 0

    second = containers.run("acs-exporter-2", *args, mounts=mounts)
    after = wait_for("the second container's /metrics", lambda: metrics(exporter_port), container=second)
    assert value(RECORDS, after) >= records, "records counter restarted instead of continuing"
    assert value(REQUESTS, after) >= requests, "requests counter restarted instead of continuing"
    wait_for("more records", lambda: value(RECORDS, metrics(exporter_port)) > records, container=second)
    podman("stop", "-t", "30", second)
    assert podman("inspect", "-f", "{{.State.ExitCode}}", second).stdout.strip() == "0"
    assert podman("inspect", "-f", "{{.State.Running}}", simulator).stdout.strip() == "true"


@pytest.mark.parametrize("variant", ["single", "ha"])
def test_kubernetes_configs_pass_check_config_in_the_image(image, tmp_path, variant):
    """Each Deployment's config, with its Secrets' files and variables as the pod has them."""
    import yaml  # the manifests' reader; only this test needs it

    deploy = REPO / "deploy" / "kubernetes" / variant
    config_map = yaml.safe_load((deploy / "configmap.yaml").read_text())
    deployment = yaml.safe_load((deploy / "deployment.yaml").read_text())
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    (tmp_path / "config").mkdir()
    for name, text in config_map["data"].items():
        (tmp_path / "config" / name).write_text(text)
    mounts = []
    for mount in container["volumeMounts"]:
        volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
        if "configMap" in volume:
            mounts.append(f"{tmp_path / 'config'}:{mount['mountPath']}:ro")
        elif "secret" in volume:  # placeholder files under the keys the docs create
            secret_dir = tmp_path / mount["name"]
            secret_dir.mkdir()
            for key in ("client-secret", "password"):
                (secret_dir / key).write_text("placeholder\n")
            os.chmod(secret_dir, 0o755)
            mounts.append(f"{secret_dir}:{mount['mountPath']}:ro")
    env = []
    for variable in container.get("env", []):
        value = "postgres://acs@db.example:5432/acs?sslmode=require" if variable["name"] == "ACS_DB_URL" else "x"
        env += ["-e", f"{variable['name']}={value}"]
    config_file = next(a for a in container["args"] if a.startswith("--config.file="))
    volumes = [a for m in mounts for a in ("-v", m)]
    result = podman("run", "--rm", *ULIMITS, "--read-only", "--read-only-tmpfs=false", *env, *volumes,
                    image, "check-config", config_file, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout + result.stderr
