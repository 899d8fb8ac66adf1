"""A throwaway PostgreSQL 15 cluster for the end-to-end tests: the `postgres` fixture.

Like Tests/TestSupport/PostgresServer.swift: `initdb` in a temporary directory, a free
loopback port, TLS on with a certificate for localhost and 127.0.0.1 signed by a CA made
for the run, a login role with a password, a fresh database per test. The server refuses
to run as root and CI runs as root: then its commands run as Debian's `postgres` user.

It is stopped when the session ends, pass or fail; behind that, a watchdog process waits
for the end of a pipe only this process holds, and stops the cluster and removes its
directory when the test process is gone, even after a kill -9.

Use (the lead merges it into conftest.py):

    from pg import postgres  # noqa: F401  (the fixture)

    def test_something(postgres):
        database = postgres.create_database()
        url = postgres.url(database, sslmode="verify-full", sslrootcert=postgres.ca_certificate, host="localhost")
        # give postgres.password through storage.password_file
"""

import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
from conftest import free_port

BIN = "/usr/lib/postgresql/15/bin"
IS_ROOT = os.geteuid() == 0


def _server_command(tool, *arguments):
    command = [f"{BIN}/{tool}", *arguments]
    return ["runuser", "-u", "postgres", "--", *command] if IS_ROOT else command


def _run(command, log=None):
    """Runs a command to its end; output to a file (never a pipe a server could hold open)."""
    with open(log or os.devnull, "ab") as out:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=False)
    if result.returncode != 0:
        tail = open(log, encoding="utf-8", errors="replace").read()[-600:] if log else ""
        name = os.path.basename(next((part for part in command if part.startswith(BIN)), command[0]))
        raise RuntimeError(f"{name} failed ({result.returncode}): {tail}")


class PostgresCluster:
    host = "127.0.0.1"
    user = "acs_test"

    def __init__(self, durable=False):
        """durable: fsync on, PostgreSQL's default (for benchmarks); tests run with fsync off."""
        self.durable = durable
        self.directory = tempfile.mkdtemp(prefix="acs-pg-")
        os.chmod(self.directory, 0o755)
        self.password = "pw-" + uuid.uuid4().hex
        self.ca_certificate = f"{self.directory}/ca.crt"
        self.other_ca_certificate = f"{self.directory}/other-ca.crt"
        self.port = None
        self._databases = 0
        self._watchdog = None

    def start(self):
        if not os.access(f"{BIN}/initdb", os.X_OK):
            raise RuntimeError(f"PostgreSQL 15 is not installed ({BIN}/initdb): apt-get install postgresql, as `make test` does")
        os.makedirs(f"{self.directory}/sockets")
        self._make_certificates()
        with open(f"{self.directory}/pwfile", "w") as pwfile:
            pwfile.write(self.password + "\n")
        if IS_ROOT:
            _run(["chown", "-R", "postgres:postgres", self.directory])
        _run(_server_command("initdb", "-D", f"{self.directory}/data", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                             "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={self.directory}/pwfile"),
             log=f"{self.directory}/initdb.log")
        self._start_watchdog()
        for attempt in range(3):  # the port can be taken between finding it and listening on it
            self.port = free_port()
            try:
                self._start_server()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")

    def _start_server(self):
        options = " ".join([
            "-c listen_addresses=127.0.0.1", f"-p {self.port}", f"-k {self.directory}/sockets", "-c max_connections=300",
            "-c ssl=on", f"-c ssl_cert_file={self.directory}/server.crt", f"-c ssl_key_file={self.directory}/server.key",
            "-c fsync=" + ("on" if self.durable else "off")])
        _run(_server_command("pg_ctl", "-D", f"{self.directory}/data", "-l", f"{self.directory}/server.log", "-o", options,
                             "-w", "-t", "60", "start"), log=f"{self.directory}/pg_ctl.log")
        # pg_ctl -w waits on the socket; the exporter connects over TCP, so wait for that too.
        deadline = time.monotonic() + 30
        while subprocess.run([f"{BIN}/pg_isready", "-q", "-h", self.host, "-p", str(self.port)]).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL on {self.host}:{self.port} not ready after 30 s; see {self.directory}/server.log")
            time.sleep(0.05)

    def _make_certificates(self):
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        d = self.directory
        for name in ("ca", "other-ca"):
            _run(["openssl", "req", "-x509", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.crt", "-days", "2",
                  "-subj", f"/CN=acs test {name}"])
        _run(["openssl", "req", *ec, "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr", "-subj", "/CN=localhost"])
        with open(f"{d}/san.ext", "w") as ext:
            ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _run(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
              "-CAcreateserial", "-days", "2", "-extfile", f"{d}/san.ext", "-out", f"{d}/server.crt"])
        os.chmod(f"{d}/server.key", 0o600)  # the server refuses a key others can read

    def _start_watchdog(self):
        stop = " ".join(shlex.quote(part) for part in _server_command("pg_ctl", "-D", f"{self.directory}/data", "stop", "-m", "fast"))
        script = f"trap '' INT TERM HUP; read _; {stop} >/dev/null 2>&1; rm -rf {shlex.quote(self.directory)}"
        # Its stdin is a pipe whose write end only this process holds (Python's fds are not inherited).
        self._watchdog = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)

    def create_database(self):
        self._databases += 1
        name = f"acs_test_{self._databases}"
        self.psql(f"CREATE DATABASE {name} OWNER {self.user}")
        return name

    def url(self, database, sslmode="disable", sslrootcert=None, host=None):
        """postgres://acs_test@127.0.0.1:PORT/DB?sslmode=… (the password goes apart)."""
        url = f"postgres://{self.user}@{host or self.host}:{self.port}/{database}?sslmode={sslmode}"
        return url + (f"&sslrootcert={sslrootcert}" if sslrootcert else "")

    def psql(self, sql, database="postgres"):
        """Runs SQL as the superuser over the Unix socket; returns what psql printed (unaligned, tuples only)."""
        result = subprocess.run([f"{BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", f"{self.directory}/sockets",
                                 "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def stop(self):
        """Stops the server at once (connections closed); start() brings it back on the same port."""
        _run(_server_command("pg_ctl", "-D", f"{self.directory}/data", "stop", "-m", "fast", "-w"),
             log=f"{self.directory}/pg_ctl.log")

    def restart(self):
        self._start_server()

    def destroy(self):
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)
        if self._watchdog:
            self._watchdog.stdin.close()
            self._watchdog.wait(timeout=30)


@pytest.fixture(scope="session")
def postgres():
    """One cluster for the session (for each xdist worker whose tests use it); each test takes a
    fresh database with create_database()."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
