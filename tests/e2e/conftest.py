"""What the end-to-end tests share: where the binaries are, free loopback ports,
HTTP without exceptions, processes that are always stopped, and waiting for a
condition with a deadline (never a fixed sleep standing in for one).

Every process a test starts goes through the `processes` fixture (or a
`Processes` the test owns): whatever happens in the test, each one is
terminated (SIGTERM, then SIGKILL after 10 s) when the test ends.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def exporter_bin() -> Path:
    """The exporter `swift build` made, or $ACS_EXPORTER_BIN (relative to the repository)."""
    path = Path(os.environ.get("ACS_EXPORTER_BIN", ".build/debug/acs-ingestion-exporter"))
    return path if path.is_absolute() else REPO / path


def require_exporter() -> Path:
    binary = exporter_bin()
    if not binary.exists():
        pytest.fail(f"exporter binary {binary} does not exist: build it (swift build) or set ACS_EXPORTER_BIN")
    return binary


def tool(name: str, package: str) -> str:
    """A program the test needs, or a failure naming the Debian package (make test installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: apt-get install {package} (make test installs it)")
    return path


# free_port() hands out ports from a range below Linux's ephemeral ports (32768-60999), cut
# in one slice per pytest-xdist worker (PYTEST_XDIST_WORKER gw0, gw1…; the whole range
# without xdist). A port it handed out is then not handed out again by this or another
# worker, nor taken by the kernel meanwhile for a bind to port 0 (the demo's simulator,
# the Swift tests' in-process servers) or a client connection, before its server listens on it.
# The Swift tests' child processes take theirs from 10000-19999 (Tests/TestSupport/Ports.swift).
PORT_RANGE = range(20000, 32768)


def _worker_ports() -> Iterator[int]:
    """This worker's slice of PORT_RANGE, round and round from a random place (so that two
    runs on one machine do not walk it in step)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")) % workers  # a restarted gw2 of 2
    size = len(PORT_RANGE) // workers
    first, start = PORT_RANGE.start + worker * size, random.randrange(size)
    return itertools.cycle([first + (start + i) % size for i in range(size)])


_ports = _worker_ports()


def free_port(exclude=()) -> int:
    """A loopback port of this worker's slice that nothing is bound to, never one handed out
    before in this process (until the slice wraps)."""
    for port in itertools.islice(_ports, len(PORT_RANGE)):
        if port in exclude:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        return port
    pytest.fail(f"no free port in this worker's part of {PORT_RANGE}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def http_get(url: str, timeout: float = 10, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """(status, body); an HTTP error is an answer like any other, a refused connection is (0, reason)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return 0, str(e)


def wait_until(what: str, condition: Callable[[], bool], timeout: float = 60, interval: float = 0.2,
               watch: list["Proc"] | None = None) -> None:
    """Polls `condition` until it holds; fails after `timeout` seconds, or at once when a watched
    process has exited, with the logs of the watched processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in watch or []:
            if not proc.alive():
                pytest.fail(f"{proc.name} exited with {proc.popen.returncode} while waiting for {what}\n{proc.tail()}")
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(interval)
    logs = "\n".join(p.tail() for p in watch or [])
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")


class Urls:
    """The base URLs of a test stack with an exporter and a Prometheus on loopback ports."""

    exporter_port: int
    prometheus_port: int

    @property
    def exporter_url(self) -> str:
        return f"http://{HOST}:{self.exporter_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{HOST}:{self.prometheus_port}"


class Proc:
    """A child process whose output goes to a log file beside its working directory."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None):
        self.name, self.argv, self.log_path = name, argv, log
        self._log = log.open("wb")
        self.popen = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      cwd=str(log.parent), env={**os.environ, **(env or {})})

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 10) -> int | None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        if not self._log.closed:
            self._log.close()
        return self.popen.returncode

    def text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} log ({self.log_path}) ---\n" + "\n".join(self.text().splitlines()[-lines:])


class Processes:
    """The processes a test (or a module's fixture) starts; `stop_all` ends them, newest first."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, [str(a) for a in argv], self.directory / f"{name}.log", env)
        self.started.append(proc)
        return proc

    def exporter(self, name: str, *arguments: str, env: dict[str, str] | None = None) -> Proc:
        return self.start(name, [str(require_exporter()), *arguments], env)

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()


@pytest.fixture
def processes(tmp_path):
    """Per test: start processes through it; they are stopped when the test ends, passed or failed."""
    group = Processes(tmp_path)
    try:
        yield group
    finally:
        group.stop_all()
