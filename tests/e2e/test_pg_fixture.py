"""The PostgreSQL fixture itself: a login over TCP with the password, TLS verified against its CA."""
import os
import subprocess

from pg import BIN, postgres  # noqa: F401  (the fixture)


def _psql(cluster, database, sslmode, sslrootcert=None, host="localhost"):
    conninfo = f"host={host} port={cluster.port} dbname={database} user={cluster.user} sslmode={sslmode}"
    if sslrootcert:
        conninfo += f" sslrootcert={sslrootcert}"
    return subprocess.run([f"{BIN}/psql", "-X", "-A", "-t", "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                           conninfo], env={**os.environ, "PGPASSWORD": cluster.password},
                          capture_output=True, text=True, check=False)


def test_the_role_logs_in_over_verified_tls(postgres):
    database = postgres.create_database()
    result = _psql(postgres, database, "verify-full", postgres.ca_certificate)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "t"


def test_another_ca_is_refused(postgres):
    result = _psql(postgres, postgres.create_database(), "verify-full", postgres.other_ca_certificate)
    assert result.returncode != 0
    assert "certificate verify failed" in result.stderr


def test_a_stopped_server_comes_back_on_its_port(postgres):
    database = postgres.create_database()
    postgres.stop()
    try:
        assert _psql(postgres, database, "disable").returncode != 0
    finally:
        postgres.restart()
    assert _psql(postgres, database, "disable").stdout.strip() == "f"
