"""OpenMetrics end to end: a real Prometheus negotiates it, stores its exemplars,
and an independent parser accepts the body; text 0.0.4 stays as it was.

Starts, on 127.0.0.1 and free ports, the exporter in demo mode (its simulator
ends requests within seconds, some Failed with a batch id) and Prometheus
($PROMETHEUS_BIN, default /usr/bin/prometheus) with exemplar storage, scraping
every second with its default Accept header, which asks for OpenMetrics.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import HOST, Urls, Processes, free_port, http_get, require_exporter, tool, wait_until
from prometheus_client.openmetrics.parser import text_string_to_metric_families

JOB = "acs-ingestion-exporter"
STARTUP_TIMEOUT = 60
EXEMPLAR_TIMEOUT = 90
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def prometheus_bin() -> str:
    raw = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")
    if os.path.isfile(raw) and os.access(raw, os.X_OK):
        return raw
    return tool(raw, "prometheus")


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, raw body): the body is not decoded, so gzip can be checked."""
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


class Stack(Urls):
    def __init__(self, processes: Processes, tmp: Path):
        self.exporter_port = free_port()
        self.prometheus_port = free_port(exclude={self.exporter_port})
        self.database = tmp / "demo.sqlite"
        self.exporter = processes.exporter(
            "exporter", "--demo", "--web.listen-address", f"{HOST}:{self.exporter_port}",
            "--storage.path", str(self.database), "--log.level", "warn")
        wait_until("exporter /-/ready", lambda: http_get(f"{self.exporter_url}/-/ready", 2)[0] == 200,
                   timeout=STARTUP_TIMEOUT, watch=[self.exporter])
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [f"{HOST}:{self.exporter_port}"]}]}],
        }
        config_path = tmp / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.started = time.time()
        self.prometheus = processes.start("prometheus", [
            prometheus_bin(), f"--config.file={config_path}", f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address={HOST}:{self.prometheus_port}", "--enable-feature=exemplar-storage",
            "--log.level=warn",
        ])
        wait_until("prometheus /-/ready", lambda: http_get(f"{self.prometheus_url}/-/ready", 2)[0] == 200,
                   timeout=STARTUP_TIMEOUT, watch=[self.prometheus])

    def api(self, path: str, **params) -> dict:
        status, body = http_get(f"{self.prometheus_url}{path}?{urllib.parse.urlencode(params)}")
        assert status == 200, f"{path} {params}: {status} {body[:300]}"
        return json.loads(body)["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("/api/v1/query", query=expr)["result"]

    def exemplars(self, expr: str) -> list[dict]:
        """Every stored exemplar of `expr` since Prometheus started, with its series' labels."""
        found = []
        for series in self.api("/api/v1/query_exemplars", query=expr, start=f"{self.started - 60:.3f}",
                               end=f"{time.time() + 60:.3f}"):
            for exemplar in series["exemplars"]:
                found.append({**exemplar, "series": series["seriesLabels"]})
        return found

    def watch(self):
        return [self.exporter, self.prometheus]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_exporter()
    tmp = tmp_path_factory.mktemp("openmetrics")
    processes = Processes(tmp)
    try:
        yield Stack(processes, tmp)
    finally:
        processes.stop_all()


def test_prometheus_scrapes_openmetrics(stack):
    wait_until("target up", lambda: [s["value"][1] for s in stack.query(f'up{{job="{JOB}"}}')] == ["1"],
               timeout=STARTUP_TIMEOUT, watch=stack.watch())
    # Only the OpenMetrics body has `_created` samples: their series prove what Prometheus negotiated.
    wait_until("_created series", lambda: len(stack.query("acs_ingestion_requests_created")) > 0,
               timeout=STARTUP_TIMEOUT, watch=stack.watch())


@pytest.mark.parametrize("metric", ["acs_ingestion_request_duration_seconds_bucket", "acs_ingestion_failures_total"])
def test_exemplars_name_requests_the_api_knows(stack, metric):
    found: list[dict] = []

    def stored() -> bool:
        found[:] = [e for e in stack.exemplars(metric) if "request_id" in e["labels"]]
        return bool(found)

    wait_until(f"an exemplar on {metric}", stored, timeout=EXEMPLAR_TIMEOUT, interval=1, watch=stack.watch())
    for exemplar in found[:5]:
        series, request_id = exemplar["series"], exemplar["labels"]["request_id"]
        path = "/".join(urllib.parse.quote(p, safe="") for p in (series["tenant"], series["mapping"], request_id))
        status, body = http_get(f"{stack.exporter_url}/api/v1/requests/{path}")
        assert status == 200, f"{metric} exemplar {exemplar}: GET /api/v1/requests/{path} answered {status} {body[:200]}"
        request = json.loads(body)
        assert str(request.get("request_id")) == request_id, body[:300]
        assert request.get("batch_id") == exemplar["labels"].get("batch_id", request.get("batch_id")), body[:300]
        if metric == "acs_ingestion_failures_total":
            assert request.get("status") in ("failed", "aborted"), body[:300]
    if metric == "acs_ingestion_failures_total":
        # The demo's XDM45 fails with ACP-880096 after Adobe uploaded a batch: its exemplar names the batch.
        wait_until("a failure exemplar with batch_id",
                   lambda: any("batch_id" in e["labels"] for e in stack.exemplars(metric)),
                   timeout=EXEMPLAR_TIMEOUT, interval=1, watch=stack.watch())


def test_openmetrics_body_passes_an_independent_parser(stack):
    wait_until("an exemplar in the body", lambda: b" # {request_id=" in fetch(
        f"{stack.exporter_url}/metrics", {"Accept": OPENMETRICS})[2], timeout=EXEMPLAR_TIMEOUT, watch=stack.watch())
    status, headers, body = fetch(f"{stack.exporter_url}/metrics", {"Accept": OPENMETRICS})
    assert status == 200
    assert headers["content-type"] == OPENMETRICS_TYPE
    assert headers["vary"] == "Accept, Accept-Encoding"
    text = body.decode("utf-8")
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["acs_ingestion_requests"].type == "counter"
    assert families["acs_ingestion_request_duration_seconds"].type == "histogram"
    assert families["acs_ingestion_request_duration_seconds"].unit == "seconds"
    assert families["acs_ingestion_exporter_build_info"].type == "gauge"
    assert families["process_cpu_seconds"].type == "counter"
    names = {s.name for s in families["acs_ingestion_requests"].samples}
    assert names == {"acs_ingestion_requests_total", "acs_ingestion_requests_created"}
    exemplars = [s.exemplar for f in families.values() for s in f.samples if s.exemplar]
    assert exemplars and all("request_id" in e.labels for e in exemplars)


def test_created_samples_are_when_the_store_first_saw_each_mapping(stack):
    with sqlite3.connect(f"file:{stack.database}?mode=ro", uri=True) as db:
        stored = {(t, m): created for t, m, created in db.execute("SELECT tenant, mapping, created_at FROM mappings")}
    assert stored
    text = fetch(f"{stack.exporter_url}/metrics", {"Accept": OPENMETRICS})[2].decode("utf-8")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for family in ("acs_ingestion_requests", "acs_ingestion_failures", "acs_ingestion_request_duration_seconds",
                   "acs_ingestion_triggers", "acs_ingestion_records_ingested"):
        created = [s for s in families[family].samples if s.name.endswith("_created")]
        assert created, family
        for sample in created:
            assert sample.value == stored[(sample.labels["tenant"], sample.labels["mapping"])], (family, sample)


@pytest.mark.parametrize("accept", [None, OPENMETRICS])
def test_gzip_is_one_member_every_decoder_reads(stack, accept, tmp_path):
    headers = {"Accept-Encoding": "gzip", **({"Accept": accept} if accept else {})}
    status, response_headers, body = fetch(f"{stack.exporter_url}/metrics", headers)
    assert status == 200 and response_headers.get("content-encoding") == "gzip"
    decoded = gzip.decompress(body)
    compressed = tmp_path / "metrics.gz"
    compressed.write_bytes(body)
    gunzip = subprocess.run([tool("gzip", "gzip"), "-dc", str(compressed)], capture_output=True, timeout=30)
    assert gunzip.returncode == 0, gunzip.stderr
    assert gunzip.stdout == decoded
    text = decoded.decode("utf-8")
    if accept:
        assert response_headers["content-type"] == OPENMETRICS_TYPE
        list(text_string_to_metric_families(text))  # raises on any error
    else:
        assert response_headers["content-type"] == TEXT_TYPE
        assert "# EOF" not in text and "acs_ingestion_requests_total" in text


def test_text_has_no_exemplars_and_passes_promtool(stack):
    wait_until("an exemplar in the OpenMetrics body", lambda: b" # {request_id=" in fetch(
        f"{stack.exporter_url}/metrics", {"Accept": OPENMETRICS})[2], timeout=EXEMPLAR_TIMEOUT, watch=stack.watch())
    for accept in (None, "text/plain", "*/*", "application/openmetrics-text;version=0.0.1"):
        status, headers, body = fetch(f"{stack.exporter_url}/metrics", {"Accept": accept} if accept else {})
        assert status == 200 and headers["content-type"] == TEXT_TYPE, accept
        text = body.decode("utf-8")
        assert " # {" not in text and "_created" not in text and "# UNIT" not in text, accept
    check = subprocess.run([tool("promtool", "prometheus"), "check", "metrics"], input=body,
                           capture_output=True, timeout=30)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check.stdout + check.stderr
