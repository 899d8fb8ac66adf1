"""End-to-end test: three replicas in cluster mode + a real Prometheus + the shipped rules.

Starts, on 127.0.0.1 and free ports: a PostgreSQL cluster (the `postgres`
fixture), the simulator (`acs-ingestion-exporter simulate`) with four tenants
whose requests all fail (ACP-880096) after 8 s, three replicas sharing the
tenants through leases (`cluster.enabled`, `cluster.name: acs-ha`, TTL 3 s), and
Prometheus scraping the three as docs/high-availability.md says
(`honor_labels: true`), evaluating a test copy of alerts/acs-ingestion.rules.yml
(every `for:` at 0s) every second.

Then kill -9 the owner of a tenant while that tenant's request is about to
fail, so that it fails while no replica runs the tenant, and checks that:
  a) each tenant's series exist once (one owner), never twice, across the failover;
  b) they carry instance="acs-ha" and are the same series before and after it
     (no counter reset, the recording rules see the whole count);
  c) AcsIngestionRequestFailed fires for that failure, counted by the new owner.
"""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
import yaml
from conftest import HOST, free_port, http_get, require_exporter, wait_until
from pg import postgres  # noqa: F401  (the fixture)
from test_prometheus import JOB, make_test_rules, prometheus_bin

INSTANCE = "acs-ha"
TENANTS = [f"ha-t{n}" for n in range(1, 5)]
MAPPING = "XDM1"
DURATION = 8  # seconds a request stays In Progress before it fails
EVERY = 12  # seconds between triggers
TTL = 3
SECRET = "ha-e2e-secret"


def scenario() -> dict:
    return {
        "seed": 7,
        "credentials": [{"client_id": f"ha-client-{r}", "client_secret": SECRET} for r in "abc"],
        "tenants": [{"name": t, "mappings": [{"id": MAPPING, "duration": f"{DURATION}s", "outcomes": {"failed_880096": 1}}]}
                    for t in TENANTS],
    }


def config(simulator: str, postgres, database: str, secret_file, password_file) -> dict:  # noqa: F811
    return {
        "tenants": [{"name": t, "api_url": simulator, "ims_token_url": f"{simulator}/ims/token/v3",
                     "client_id": "${ACS_CLIENT_ID}", "client_secret_file": str(secret_file),
                     "mappings": [{"id": MAPPING, "name": "Profiles", "trigger_every": f"{EVERY}s"}]} for t in TENANTS],
        "collector": {"poll_interval": "1s", "max_requests_per_second": 1000, "trigger_jitter": "0s"},
        "storage": {"driver": "postgres", "password_file": str(password_file),
                    "url": postgres.url(database, sslmode="verify-full", sslrootcert=postgres.ca_certificate, host="localhost")},
        "cluster": {"enabled": True, "name": INSTANCE, "replica_name": "${ACS_REPLICA_NAME}", "lease_ttl": f"{TTL}s"},
    }


class Cluster:
    def __init__(self, processes, tmp_path, postgres):  # noqa: F811
        self.processes, self.tmp = processes, tmp_path
        self.ports: dict[str, int] = {}
        self.procs = {}
        sim_port = free_port()
        (tmp_path / "scenario.yml").write_text(yaml.safe_dump(scenario()), encoding="utf-8")
        self.simulator = processes.exporter("simulator", "simulate", "--scenario", str(tmp_path / "scenario.yml"),
                                            "--web.listen-address", f"{HOST}:{sim_port}", "--log.level", "warn")
        simulator_url = f"http://{HOST}:{sim_port}"
        wait_until("simulator listening", lambda: http_get(f"{simulator_url}/nothing", 1)[0] == 404, watch=[self.simulator])
        secret_file = tmp_path / "secret"
        secret_file.write_text(SECRET + "\n")
        password_file = tmp_path / "pg-password"
        password_file.write_text(postgres.password + "\n")
        self.config = tmp_path / "config.yml"
        self.config.write_text(yaml.safe_dump(config(simulator_url, postgres, postgres.create_database(), secret_file,
                                                     password_file), sort_keys=False), encoding="utf-8")

    def start(self, letter: str):
        name, port = f"replica-{letter}", free_port(exclude=set(self.ports.values()))
        proc = self.processes.exporter(name, "--config.file", str(self.config), "--web.listen-address", f"{HOST}:{port}",
                                       "--log.level", "info",
                                       env={"ACS_CLIENT_ID": f"ha-client-{letter}", "ACS_REPLICA_NAME": name})
        self.ports[name], self.procs[name] = port, proc
        wait_until(f"{name} ready", lambda: http_get(f"http://{HOST}:{port}/-/ready", 1)[0] == 200, watch=[proc])

    def owned(self, name: str) -> set[str]:
        status, body = http_get(f"http://{HOST}:{self.ports[name]}/metrics", 1)
        if status != 200:
            return set()
        return {t for t in TENANTS if f'acs_ingestion_tenant_owner{{tenant="{t}"}} 1' in body}

    def owners(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, proc in self.procs.items():
            if proc.alive():
                for tenant in self.owned(name):
                    found.setdefault(tenant, []).append(name)
        return found


class Prometheus:
    def __init__(self, processes, tmp_path, targets: list[int]):
        rules = tmp_path / "rules.yml"
        make_test_rules(rules)
        self.port = free_port(exclude=set(targets))
        # The scrape configuration of docs/high-availability.md: every replica, honor_labels.
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": JOB, "honor_labels": True, "scrape_interval": "1s", "scrape_timeout": "1s",
                                "static_configs": [{"targets": [f"{HOST}:{p}" for p in targets]}]}],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        binary = prometheus_bin()
        if binary is None:
            pytest.fail("prometheus not found: apt-get install prometheus, or set PROMETHEUS_BIN")
        self.proc = processes.start("prometheus", [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                                                   f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                                   f"--web.listen-address={HOST}:{self.port}", "--log.level=warn"])
        wait_until("prometheus ready", lambda: http_get(f"{self.url}/-/ready", 2)[0] == 200, watch=[self.proc])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def query(self, expr: str) -> list[dict]:
        status, body = http_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert status == 200, f"{expr}: {status} {body[:300]}"
        return json.loads(body)["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


def test_rules_and_failure_alert_across_a_kill_minus_9(processes, tmp_path, postgres):  # noqa: F811
    require_exporter()
    cluster = Cluster(processes, tmp_path, postgres)
    for letter in "abc":
        cluster.start(letter)
    wait_until("every tenant owned by one replica",
               lambda: all(len(cluster.owners().get(t, [])) == 1 for t in TENANTS), timeout=30)
    prometheus = Prometheus(processes, tmp_path, list(cluster.ports.values()))
    wait_until("three targets up", lambda: prometheus.value(f'count(up{{job="{JOB}"}} == 1)') == 3,
               timeout=30, watch=[prometheus.proc])

    # The victim: a replica owning a tenant whose request is running; killed shortly before that request fails.
    owners = cluster.owners()
    tenant = TENANTS[0]
    victim = owners[tenant][0]
    start = f'acs_ingestion_oldest_in_progress_start_timestamp_seconds{{tenant="{tenant}",instance="{INSTANCE}"}}'
    ends: list[float] = []
    def request_failing_soon() -> bool:
        started = prometheus.value(start)
        if started is not None and started + DURATION - time.time() > 2.5:
            ends.append(started + DURATION)
            return True
        return False
    wait_until(f"a request of {tenant} running, more than 2.5 s before it fails", request_failing_soon,
               timeout=EVERY + DURATION + 10)
    fails_at = ends[-1]
    failures = f'acs_ingestion_failures_total{{tenant="{tenant}",status="failed",acp_code="ACP-880096"}}'
    wait_until("1.5 s before the request fails", lambda: time.time() >= fails_at - 1.5, timeout=DURATION + 5)
    before = prometheus.value(failures)
    assert before is not None
    cluster.procs[victim].popen.kill()
    killed_at = time.time()
    cluster.procs[victim].popen.wait(timeout=10)

    taken: list[float] = []
    def taken_over() -> bool:
        owner = [n for n in cluster.owners().get(tenant, []) if n != victim]
        if owner and not taken:
            taken.append(time.time())
        return bool(owner)
    wait_until(f"{tenant} taken over", taken_over, timeout=TTL + 10)
    print(f"{tenant}: killed {victim} at request end - {fails_at - killed_at:.2f} s, taken over {taken[0] - killed_at:.2f} s later")
    assert taken[0] > fails_at, "the request should have failed while no replica ran the tenant"

    # The new owner counts the failure: the same series, one more, and the alert fires.
    wait_until("the failure counted", lambda: (prometheus.value(failures) or 0) >= before + 1, timeout=30)
    series = prometheus.query(failures)
    assert len(series) == 1 and series[0]["metric"]["instance"] == INSTANCE, series
    alert = f'ALERTS{{alertname="AcsIngestionRequestFailed",alertstate="firing",tenant="{tenant}"}}'
    wait_until("AcsIngestionRequestFailed firing", lambda: bool(prometheus.query(alert)), timeout=30)
    fired = prometheus.query(alert)[0]["metric"]
    assert fired["instance"] == INSTANCE and fired["name"] == "Profiles" and fired["acp_code"] == "ACP-880096", fired

    # Across the run: one series per tenant's counter at every evaluation (never one per replica), no reset.
    window = f"{int(time.time() - killed_at) + 60}s"
    doubled = prometheus.query(
        f'max_over_time((count by (tenant, mapping, status) (acs_ingestion_requests_total))[{window}:1s]) > 1')
    assert doubled == [], doubled
    assert prometheus.query(f'resets(acs_ingestion_requests_total[{window}]) > 0') == []
    assert prometheus.query(f'resets(acs_ingestion_failures_total[{window}]) > 0') == []

    # The recording rules give what one exporter would: the count from zero, not a fresh series' part of it.
    def recorded_matches() -> bool:
        recorded = prometheus.value(
            f'tenant_mapping_status:acs_ingestion_requests:increase1h{{tenant="{tenant}",status="failed"}}')
        counted = prometheus.value(f'acs_ingestion_requests_total{{tenant="{tenant}",status="failed"}}'
                                   f' - min_over_time(acs_ingestion_requests_total{{tenant="{tenant}",status="failed"}}[1h])')
        return recorded is not None and counted is not None and counted >= 1 and counted <= recorded <= counted * 1.25 + 0.5
    wait_until("increase1h of the failed-over tenant equal to its count", recorded_matches, timeout=20)
    owners_metric = prometheus.query(f'sum by (tenant) (acs_ingestion_tenant_owner)')
    assert all(float(s["value"][1]) == 1 for s in owners_metric) and len(owners_metric) == len(TENANTS), owners_metric
    replicas = prometheus.query("acs_ingestion_cluster_replica_info == 1")
    assert {s["metric"]["replica_name"] for s in replicas} >= {n for n, p in cluster.procs.items() if p.alive()}
