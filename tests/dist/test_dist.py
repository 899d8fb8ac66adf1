"""The release tarball `make dist` wrote, checked the way a user on another Debian machine
uses it: in a temporary folder, with `env -i PATH=/usr/bin:/bin` (no Swift toolchain on
any path), nothing from the source tree.

  * sha256sums.txt checks with `sha256sum -c`;
  * the tarball holds one folder named like itself, with the binary, LICENSE, README,
    CHANGELOG, example config, units, man page, completions, dashboards and alerts;
  * `ldd` shows no libswift* and nothing missing, and README.md names every library the
    binary itself needs (its DT_NEEDED entries);
  * `--version` prints the commit (`git rev-parse HEAD`), `check-config` accepts the
    example, and the demo serves /metrics.

Run by `make test-dist` (after `make dist`); ACS_DIST_DIR names the folder (default dist/).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NAME = "acs-ingestion-exporter"
HOST = "127.0.0.1"
CLEAN_ENV = {"PATH": "/usr/bin:/bin"}
# The dynamic loader: on every Linux system, not worth a line in the README.
RUNTIME = {"ld-linux-x86-64", "ld-linux-aarch64"}


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> Path:
    """The tarball and its checksum file copied to a temporary folder, checked, extracted."""
    dist = Path(os.environ.get("ACS_DIST_DIR", REPO / "dist"))
    sums = dist / "sha256sums.txt"
    if not sums.exists():
        pytest.fail(f"{sums} missing: run make dist first (make test-dist does)")
    names = [line.split()[1] for line in sums.read_text().splitlines()]
    assert len(names) == 1 and re.fullmatch(rf"{NAME}-\d+\.\d+\.\d+\S*\.linux-(amd64|arm64)\.tar\.gz", names[0]), names
    work = tmp_path_factory.mktemp("dist")
    shutil.copy(sums, work)
    shutil.copy(dist / names[0], work)
    check = subprocess.run(["sha256sum", "-c", "sha256sums.txt"], cwd=work, capture_output=True, text=True,
                           env=CLEAN_ENV)
    assert check.returncode == 0 and check.stdout.strip() == f"{names[0]}: OK", check.stdout + check.stderr
    with tarfile.open(work / names[0]) as archive:
        tops = {member.name.split("/")[0] for member in archive.getmembers()}
        assert tops == {names[0].removesuffix(".tar.gz")}, tops
        archive.extractall(work, filter="data")
    return work / names[0].removesuffix(".tar.gz")


def test_the_tarball_holds_everything_a_host_needs(unpacked):
    files = sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file())
    print(f"\n{unpacked.name}/\n  " + "\n  ".join(files))
    for expected in (NAME, "LICENSE", "README.md", "CHANGELOG.md", f"{NAME}.yml", f"{NAME}.1",
                     f"systemd/{NAME}.service", f"systemd/{NAME}-socket.service", f"systemd/{NAME}.socket",
                     f"completions/{NAME}.bash", f"completions/_{NAME}", f"completions/{NAME}.fish",
                     "dashboards/acs-ingestion-overview.json", "alerts/acs-ingestion.rules.yml"):
        assert expected in files, f"{expected} missing from the tarball"
    assert os.access(unpacked / NAME, os.X_OK)


def test_the_binary_needs_no_swift_runtime_and_the_readme_names_what_it_needs(unpacked):
    result = subprocess.run(["ldd", str(unpacked / NAME)], capture_output=True, text=True, env=CLEAN_ENV)
    assert result.returncode == 0, result.stderr
    print("\nldd:\n" + result.stdout)
    assert "libswift" not in result.stdout and "not found" not in result.stdout, result.stdout
    # The README lists what the binary itself needs (DT_NEEDED); apt brings their dependencies.
    dynamic = subprocess.run(["readelf", "-d", str(unpacked / NAME)], capture_output=True, text=True, env=CLEAN_ENV)
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic.stdout))
    assert needed, dynamic.stdout + dynamic.stderr
    readme = (unpacked / "README.md").read_text()
    unnamed = sorted(library for library in needed if library.split(".so")[0] not in RUNTIME and library not in readme)
    assert not unnamed, f"README.md does not name {unnamed} (the binary's DT_NEEDED)"


def test_version_prints_the_commit(unpacked):
    result = subprocess.run([str(unpacked / NAME), "--version"], capture_output=True, text=True, env=CLEAN_ENV,
                            cwd=unpacked, timeout=30)
    assert result.returncode == 0, result.stderr
    print("\n" + result.stdout)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if head.returncode == 0:
        assert f"revision: {head.stdout.strip()})" in result.stdout.splitlines()[0], result.stdout
    assert re.search(r"^  platform:\s+linux/(amd64|arm64)$", result.stdout, re.M), result.stdout


def test_check_config_accepts_the_shipped_example(unpacked):
    env = dict(CLEAN_ENV, ACS_CLIENT_ID="id", ACS_CLIENT_SECRET="secret")
    result = subprocess.run([str(unpacked / NAME), "check-config", "--config.file", f"{NAME}.yml"],
                            capture_output=True, text=True, env=env, cwd=unpacked, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_the_demo_serves_metrics(unpacked, tmp_path):
    port = free_port()
    log = tmp_path / "exporter.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(unpacked / NAME), "--demo", "--web.listen-address", f"{HOST}:{port}",
                                    "--storage.path", str(tmp_path / "demo.sqlite"), "--log.level", "warn"],
                                   cwd=tmp_path, env=CLEAN_ENV, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        body = ""
        while time.monotonic() < deadline:
            assert process.poll() is None, f"exited with {process.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as response:
                    body = response.read().decode()
                if re.search(r"^acs_ingestion_requests_total\{.*\} [1-9]", body, re.M):
                    break
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"no ingestion counted on /metrics within 30 s:\n{body[-2000:]}\n{log.read_text()}")
        assert "acs_ingestion_exporter_build_info{" in body
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
