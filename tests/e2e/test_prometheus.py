"""End-to-end test: demo exporter + real Prometheus + the shipped rules and dashboards.

Starts, on 127.0.0.1 and free ports:
  * the exporter in demo mode (binary from $ACS_EXPORTER_BIN, default
    .build/debug/acs-ingestion-exporter relative to the repository root);
  * prometheus ($PROMETHEUS_BIN, default /usr/bin/prometheus) scraping it every
    second as job "acs-ingestion-exporter" and evaluating, every second, a test
    copy of alerts/acs-ingestion.rules.yml with every `for:` set to 0s and the
    in-progress threshold lowered to IN_PROGRESS_THRESHOLD seconds.

Then checks:
  a) every dashboard expression (variables substituted) parses and returns at
     least one series, and every dashboard variable query returns values;
  b) the Failed, Aborted and stuck-In-Progress alerts fire within ALERT_TIMEOUT
     seconds of the first scrape;
  c) every metric name used by the dashboards and rules is exposed by the
     exporter (recording rules and Prometheus' synthetic series excepted);
plus the label contract the rules rely on, that every rule evaluates without
error, and finally that both processes stop and their ports close.

The whole module is skipped only when the exporter binary does not exist.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from conftest import HOST, Urls, Proc, Processes, free_port, http_get, port_open, require_exporter, wait_until

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = REPO / "alerts" / "acs-ingestion.rules.yml"
DASHBOARDS = REPO / "dashboards"

JOB = "acs-ingestion-exporter"
IN_PROGRESS_THRESHOLD = 2  # seconds, replaces acs_ingestion:threshold_in_progress_seconds
DATA_SECONDS = 25  # demo data the dashboards may need, at most (their queries are retried until then)
ALERT_TIMEOUT = 90  # seconds from the first scrape
STARTUP_TIMEOUT = 60
RETRY_EMPTY_SECONDS = 45  # extra time for series that appear late in the demo

# Values substituted for Grafana's built-in variables.
BUILTIN_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
# Dashboard variables substituted with a match-all regex; the others ($job,
# $instance) get the real values Prometheus reports for their queries.
MATCH_ALL_VARIABLES = {"tenant", "mapping"}

# Series Prometheus creates itself, not the exporter.
PROMETHEUS_SYNTHETIC = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added",
    "ALERTS", "ALERTS_FOR_STATE",
}
PROMQL_KEYWORDS = {
    # binary / set operators and modifiers
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "atan2", "start", "end",
    # aggregation operators (may be followed by `by (...)` instead of `(`)
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    # literals
    "inf", "nan",
}

# Demo-mode facts (see the exporter's demo simulator).
DEMO_TENANTS = {"demo-mkt-prod1": {"XDM44", "XDM45"}, "demo-mkt-stage1": {"XDM10"}}
REQUEST_STATUSES = {"success", "failed", "aborted", "abandoned"}
TRIGGER_RESULTS = {"submitted", "already_in_progress", "not_stopped", "not_published", "error", "unknown"}
PER_MAPPING_SERIES = (
    "acs_ingestion_records_ingested_total",
    "acs_ingestion_requests_in_progress",
    "acs_ingestion_in_progress_duration_seconds",
    "acs_ingestion_last_success_timestamp_seconds",
    "acs_ingestion_last_failure_timestamp_seconds",
    "acs_ingestion_last_success_records",
    "acs_ingestion_mapping_info",
)


def prometheus_bin() -> str | None:
    raw = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")
    if os.path.isfile(raw) and os.access(raw, os.X_OK):
        return raw
    return shutil.which(raw)


# --------------------------------------------------------------------------
# PromQL / exposition helpers (pure functions, tested below without a stack)
# --------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])")


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (functions/keywords excluded)."""
    s = _STRING.sub('""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # ranges and subqueries
    s = _LABEL_LIST.sub(r"\1 ", s)  # grouping / matching label lists
    names = set()
    for m in _IDENT.finditer(s):
        ident = m.group(1)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):  # function call
            continue
        if ident.lower() in PROMQL_KEYWORDS:
            continue
        names.add(ident)
    return names


def parse_exposition(text: str) -> tuple[set[str], dict[str, str]]:
    """Sample names and `# TYPE` declarations of a /metrics response."""
    samples, types = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                types[parts[2]] = parts[3]
        elif line and not line.startswith("#"):
            m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
            if m:
                samples.add(m.group(0))
    return samples, types


def is_exposed(name: str, samples: set[str], types: dict[str, str]) -> bool:
    if name in samples or name in types:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) in ("histogram", "summary"):
            return True
    if name.endswith("_total") and types.get(name[: -len("_total")]) == "counter":
        return True  # OpenMetrics-style TYPE line without _total
    return False


def parse_samples(text: str) -> list[tuple[str, dict[str, str], str]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, m.group(4)))
    return out


_VAR = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)(?::[\w]+)?\]\]|\$(\w+)")


def substitute(expr: str, values: dict[str, str]) -> str:
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise KeyError(f"no value for dashboard variable ${name} in {expr!r}")
        return values[name]
    return _VAR.sub(repl, expr)


def promql_regex_value(values) -> str:
    """Grafana-style multi-value regex, escaped for a double-quoted PromQL string."""
    escaped = [re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\\\1", v) for v in values]
    return "(" + "|".join(escaped) + ")"


def iter_panels(panels):
    for panel in panels or []:
        yield panel
        yield from iter_panels(panel.get("panels"))  # rows, collapsed or not


def load_dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARDS.glob("*.json"))}


def dashboard_targets():
    for fname, dash in load_dashboards().items():
        for panel in iter_panels(dash.get("panels")):
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    yield fname, panel.get("title"), target.get("refId"), target["expr"]


def rule_documents() -> dict:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


def recording_rule_names() -> set[str]:
    return {r["record"] for g in rule_documents()["groups"] for r in g["rules"] if "record" in r}


def make_test_rules(dst: Path) -> None:
    """Copy of the rules with every `for:` at 0s and a tiny in-progress threshold."""
    doc = rule_documents()
    found = False
    for group in doc["groups"]:
        group.pop("interval", None)
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "0s"
            if rule.get("record") == "acs_ingestion:threshold_in_progress_seconds":
                rule["expr"] = f"vector({IN_PROGRESS_THRESHOLD})"
                found = True
    assert found, "acs_ingestion:threshold_in_progress_seconds not found in the rules"
    dst.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


# --------------------------------------------------------------------------
# process / HTTP helpers
# --------------------------------------------------------------------------

class Stack(Urls):
    def __init__(self, tmp: Path, exporter: Path, prometheus: str):
        self.tmp = tmp
        self.exporter_bin = exporter
        self.prometheus_bin = prometheus
        self.exporter_port = free_port()
        self.prometheus_port = free_port(exclude={self.exporter_port})
        self.processes = Processes(tmp)
        self.exporter: Proc | None = None
        self.prometheus: Proc | None = None
        self.first_metrics = ""
        self.scraping_since = 0.0
        self.stopped = False

    # -- logs
    def logs(self) -> str:
        return "\n".join(p.tail() for p in (self.exporter, self.prometheus) if p)

    # -- lifecycle
    def start(self) -> None:
        self.exporter = self.processes.start("exporter", [
            str(self.exporter_bin), "--demo",
            "--web.listen-address", f"{HOST}:{self.exporter_port}",
            "--storage.path", str(self.tmp / "demo.sqlite"),
            "--log.level", "warn",
        ])
        self._wait("exporter /metrics", lambda: self._exporter_ready(), self.exporter)

        rules = self.tmp / "acs-ingestion.rules.test.yml"
        make_test_rules(rules)
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{
                "job_name": JOB,
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "static_configs": [{"targets": [f"{HOST}:{self.exporter_port}"]}],
            }],
        }
        config_path = self.tmp / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self.prometheus = self.processes.start("prometheus", [
            self.prometheus_bin,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={self.tmp / 'tsdb'}",
            f"--web.listen-address={HOST}:{self.prometheus_port}",
            "--log.level=warn",
        ])
        self._wait("prometheus /-/ready", lambda: http_get(f"{self.prometheus_url}/-/ready", 2)[0] == 200,
                   self.prometheus)
        self._wait("exporter target up", self._target_up, self.prometheus)
        self.scraping_since = time.monotonic()

    def _exporter_ready(self) -> bool:
        status, body = http_get(f"{self.exporter_url}/metrics", 2)
        if status == 200 and "acs_ingestion_" in body:
            self.first_metrics = body
            return True
        return False

    def _target_up(self) -> bool:
        status, body = http_get(f"{self.prometheus_url}/api/v1/targets?state=active", 2)
        if status != 200:
            return False
        targets = json.loads(body)["data"]["activeTargets"]
        return any(t["labels"].get("job") == JOB and t["health"] == "up" for t in targets)

    def _wait(self, what: str, ready, proc: Proc) -> None:
        wait_until(what, ready, timeout=STARTUP_TIMEOUT, interval=0.5, watch=[proc])

    def stop(self) -> None:
        self.processes.stop_all()
        self.stopped = True

    # -- Prometheus API
    def api(self, path: str, **params) -> tuple[int, dict]:
        query = urllib.parse.urlencode(params, doseq=True)
        status, body = http_get(f"{self.prometheus_url}{path}?{query}")
        try:
            return status, json.loads(body)
        except ValueError:
            return status, {"status": "error", "error": body[:500]}

    def query(self, expr: str) -> tuple[int, dict]:
        return self.api("/api/v1/query", query=expr, time=f"{time.time():.3f}")

    def data_deadline(self) -> float:
        """Until when a dashboard query may still come back empty: the demo's data plus the late series."""
        return max(self.scraping_since + DATA_SECONDS, time.monotonic()) + RETRY_EMPTY_SECONDS

    def ensure_running(self) -> None:
        if self.stopped:
            pytest.fail("the stack was already stopped (tests must run in file order)")
        for proc in (self.exporter, self.prometheus):
            assert proc and proc.alive(), (
                f"{proc.name if proc else 'process'} died (exit code {proc.popen.returncode if proc else None})\n{self.logs()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    binary = require_exporter()
    prom = prometheus_bin()
    if prom is None:
        pytest.fail("prometheus not found: apt-get install prometheus, or set PROMETHEUS_BIN")
    s = Stack(tmp_path_factory.mktemp("acs-e2e"), binary, prom)
    try:
        s.start()
        yield s
    finally:
        s.stop()


# --------------------------------------------------------------------------
# helper self-tests (no stack)
# --------------------------------------------------------------------------

def test_metric_name_extraction():
    expr = ('histogram_quantile(0.9, sum by (le, tenant) (rate(a_bucket{job=~"x", code!~"[1-4].."}[5m])))'
            ' / on (job) group_left (name) b_info offset 1d > on () group_left () c:threshold'
            ' or absent(up{job="x"}) and sum without (x) (d_total) * 1e3 + vector(1) - time()'
            ' unless topk(5, e) or count_values("v", f) > bool Inf')
    assert metric_names(expr) == {"a_bucket", "b_info", "c:threshold", "up", "d_total", "e", "f"}


def test_exposition_parsing():
    text = ("# HELP x_total a\n# TYPE x_total counter\nx_total{a=\"b\"} 1\n"
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n# TYPE c counter\nc_total 3\n")
    samples, types = parse_exposition(text)
    assert is_exposed("x_total", samples, types)
    assert is_exposed("h_bucket", samples, types) and is_exposed("h_count", samples, types)
    assert is_exposed("c_total", samples, types)
    assert not is_exposed("nope", samples, types)
    assert parse_samples(text)[0] == ("x_total", {"a": "b"}, "1")


def test_variable_substitution():
    values = dict(BUILTIN_VARIABLES, job="j", tenant=".*")
    assert substitute('rate(x{job=~"$job",t=~"${tenant}"}[$__rate_interval])', values) == \
        'rate(x{job=~"j",t=~".*"}[1m])'
    with pytest.raises(KeyError):
        substitute("x{a=~\"$unknown\"}", values)
    assert promql_regex_value(["a-b", "127.0.0.1:9"]) == r"(a-b|127\\.0\\.0\\.1:9)"


def test_rules_test_copy(tmp_path):
    dst = tmp_path / "rules.yml"
    make_test_rules(dst)
    doc = yaml.safe_load(dst.read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert all(r["for"] == "0s" for r in rules if "for" in r)
    threshold = [r for r in rules if r.get("record") == "acs_ingestion:threshold_in_progress_seconds"]
    assert threshold[0]["expr"] == f"vector({IN_PROGRESS_THRESHOLD})"


# --------------------------------------------------------------------------
# end-to-end
# --------------------------------------------------------------------------

def test_prometheus_scrapes_the_exporter_with_up_1(stack):
    """A real Prometheus scrapes /metrics and records up == 1 for the exporter's job."""
    stack.ensure_running()
    status, body = stack.query(f'up{{job="{JOB}"}}')
    assert status == 200 and body["status"] == "success", body
    values = [float(r["value"][1]) for r in body["data"]["result"]]
    assert values == [1.0], f"up{{job={JOB}}}: {values}"


def test_exporter_first_scrape_contract(stack):
    """The rules and dashboards rely on these labels/series from the first scrape."""
    samples = parse_samples(stack.first_metrics)
    info = [(labels.get("tenant"), labels.get("mapping"), labels) for name, labels, _ in samples
            if name == "acs_ingestion_mapping_info"]
    seen = {}
    for tenant, mapping, labels in info:
        seen.setdefault(tenant, set()).add(mapping)
        assert labels.get("name"), f"mapping_info without name: {labels}"
        assert labels.get("scheduled") in ("true", "false"), f"mapping_info scheduled label: {labels}"
    for tenant, mappings in DEMO_TENANTS.items():
        assert mappings <= seen.get(tenant, set()), f"demo mappings of {tenant}: got {seen}"

    def have(name, **want):
        return any(n == name and all(lbl.get(k) == v for k, v in want.items()) for n, lbl, _ in samples)

    missing = []
    for tenant, mappings in DEMO_TENANTS.items():
        if not have("acs_ingestion_up", tenant=tenant):
            missing.append(f"acs_ingestion_up{{tenant={tenant}}}")
        if not have("acs_ingestion_last_poll_timestamp_seconds", tenant=tenant):
            missing.append(f"acs_ingestion_last_poll_timestamp_seconds{{tenant={tenant}}}")
        for mapping in mappings:
            for name in PER_MAPPING_SERIES:
                if not have(name, tenant=tenant, mapping=mapping):
                    missing.append(f"{name}{{tenant={tenant},mapping={mapping}}}")
            for status in REQUEST_STATUSES:
                if not have("acs_ingestion_requests_total", tenant=tenant, mapping=mapping, status=status):
                    missing.append(f"acs_ingestion_requests_total{{{tenant},{mapping},status={status}}}")
            for result in TRIGGER_RESULTS:
                if not have("acs_ingestion_triggers_total", tenant=tenant, mapping=mapping, result=result):
                    missing.append(f"acs_ingestion_triggers_total{{{tenant},{mapping},result={result}}}")
    assert not have("acs_ingestion_exporter_build_info") or any(
        n == "acs_ingestion_exporter_build_info" and "version" in l and "revision" in l for n, l, _ in samples)
    assert have("acs_ingestion_exporter_build_info"), "acs_ingestion_exporter_build_info missing"
    assert not missing, "series missing from the first scrape:\n" + "\n".join(missing)


def test_dashboard_variables_return_values(stack):
    """Every variable query of both dashboards returns values (asked again until the demo's data is there)."""
    stack.ensure_running()
    problems = []

    def resolved() -> bool:
        problems[:] = _variable_problems(stack)
        return not problems

    try:
        wait_until("every dashboard variable to return values", resolved, timeout=stack.data_deadline() - time.monotonic(), interval=1)
    except pytest.fail.Exception:
        pass
    assert not problems, "\n".join(problems) + "\n" + stack.logs()


def _variable_problems(stack) -> list[str]:
    problems = []
    for fname, dash in load_dashboards().items():
        values = dict(BUILTIN_VARIABLES)
        for var in dash["templating"]["list"]:
            if var["type"] == "datasource":
                values[var["name"]] = "prometheus"
                continue
            if var["type"] != "query":
                continue
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", query)
            assert m, f"{fname}: unsupported variable query {query!r}"
            selector, label = substitute(m.group(1), values), m.group(2)
            status, body = stack.api(f"/api/v1/label/{label}/values", **{"match[]": selector})
            found = body.get("data") or []
            if status != 200 or not found:
                problems.append(f"{fname}: ${var['name']} = {query!r} -> {status} {body}")
                values[var["name"]] = ".*"
            else:
                values[var["name"]] = ".*" if var["name"] in MATCH_ALL_VARIABLES else promql_regex_value(found)
            if var["name"] == "job" and found:
                assert JOB in found, f"{fname}: $job values {found}"
    return problems


def _expression_values(stack) -> dict[str, str]:
    values = dict(BUILTIN_VARIABLES)
    for var in ("tenant", "mapping"):
        values[var] = ".*"
    values["datasource"] = "prometheus"
    for label in ("job", "instance"):
        status, body = stack.api(f"/api/v1/label/{label}/values", **{"match[]": "acs_ingestion_exporter_build_info"})
        found = body.get("data") or []
        assert status == 200 and found, f"no {label} values for acs_ingestion_exporter_build_info: {body}"
        values[label] = promql_regex_value(found)
    return values


def test_dashboard_expressions_return_series(stack):
    stack.ensure_running()
    values = _expression_values(stack)
    pending = [(f, title, ref, substitute(expr, values)) for f, title, ref, expr in dashboard_targets()]
    assert pending, "no dashboard expressions found"
    errors = []
    deadline = stack.data_deadline()
    while True:
        empty = []
        for item in pending:
            status, body = stack.query(item[3])
            if status != 200 or body.get("status") != "success":
                errors.append(f"{item[0]} / {item[1]} / {item[2]}: {status} {body.get('error')}\n    {item[3]}")
            elif not body["data"]["result"]:
                empty.append(item)
        pending = empty
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(3)
    report = errors + [f"{f} / {t} / {r}: no series\n    {e}" for f, t, r, e in pending]
    assert not report, "dashboard expressions failing:\n" + "\n".join(report) + "\n" + stack.logs()


def test_rules_evaluate_without_errors(stack):
    stack.ensure_running()
    deadline = time.monotonic() + 20
    while True:
        status, body = stack.api("/api/v1/rules")
        assert status == 200, body
        rules = [r for g in body["data"]["groups"] for r in g["rules"]]
        bad = [f"{r.get('name')}: {r.get('health')} {r.get('lastError', '')}" for r in rules if r.get("health") != "ok"]
        if not bad or time.monotonic() > deadline:
            break
        time.sleep(1)
    expected = sum(len(g["rules"]) for g in rule_documents()["groups"])
    assert len(rules) == expected, f"Prometheus loaded {len(rules)} rules, the file has {expected}"
    assert not bad, "rules not healthy:\n" + "\n".join(bad)


def test_per_mapping_series_have_mapping_info(stack):
    """Alerts join acs_ingestion_mapping_info for the `name` label: it must exist for every mapping."""
    stack.ensure_running()
    expr = ('group by (job, instance, tenant, mapping) ({__name__=~"acs_ingestion_(requests_total|records_ingested_total|'
            'failures_total|requests_in_progress|in_progress_duration_seconds|last_success_timestamp_seconds|'
            'triggers_total)"}) unless on (job, instance, tenant, mapping) acs_ingestion_mapping_info')
    status, body = stack.query(expr)
    assert status == 200 and body["status"] == "success", body
    assert body["data"]["result"] == [], f"series without acs_ingestion_mapping_info: {body['data']['result']}"


def _firing(alerts, name, labels, patterns=None):
    for a in alerts:
        if a["labels"].get("alertname") != name or a.get("state") != "firing":
            continue
        if any(a["labels"].get(k) != v for k, v in labels.items()):
            continue
        if any(not re.fullmatch(p, a["labels"].get(k, "")) for k, p in (patterns or {}).items()):
            continue
        return a
    return None


EXPECTED_FIRING = {
    "AcsIngestionRequestFailed": ({"tenant": "demo-mkt-prod1", "status": "failed"},
                                  {"acp_code": r"ACP-\d+", "mapping": r"XDM4[45]", "name": r".+"}),
    "AcsIngestionRequestAborted": ({"tenant": "demo-mkt-prod1", "mapping": "XDM45", "status": "aborted"},
                                   {"name": r".+"}),
    "AcsIngestionRequestStuckInProgress": ({"tenant": "demo-mkt-stage1", "mapping": "XDM10"},
                                           {"name": r".+"}),
    # The demo's first ACP-880096 batch ends in AEP as a partial success: rows rejected.
    "AcsIngestionRecordsRejectedByAep": ({"tenant": "demo-mkt-prod1", "mapping": "XDM45", "outcome": "failed"},
                                         {"name": r".+"}),
}


def test_demo_shows_aep_records_within_a_minute(stack):
    """The demo follows its ACP-880096 failures' batches into the simulated Experience Platform."""
    stack.ensure_running()
    expr = f'sum by (outcome) (acs_ingestion_aep_batch_records_total{{job="{JOB}",tenant="demo-mkt-prod1"}})'
    seen = {}

    def records_seen() -> bool:
        status, body = stack.query(expr)
        assert status == 200, body
        seen.clear()
        seen.update({r["metric"]["outcome"]: float(r["value"][1]) for r in body["data"]["result"]})
        return seen.get("input", 0) > 0 and seen.get("failed", 0) > 0

    try:
        wait_until("AEP records in Prometheus", records_seen, timeout=max(1.0, stack.scraping_since + 60 - time.monotonic()), interval=1)
    except pytest.fail.Exception:
        pass
    assert seen.get("input", 0) > 0 and seen.get("failed", 0) > 0, f"AEP records after a minute: {seen}\n" + stack.logs()
    assert seen["input"] >= seen.get("ingested", 0) + seen["failed"] - 1e-9, seen


def test_alerts_fire(stack):
    stack.ensure_running()
    deadline = max(stack.scraping_since + ALERT_TIMEOUT, time.monotonic() + 1)
    missing = dict(EXPECTED_FIRING)
    alerts = []
    while True:
        status, body = stack.api("/api/v1/alerts")
        assert status == 200, body
        alerts = body["data"]["alerts"]
        for name, (labels, patterns) in list(missing.items()):
            a = _firing(alerts, name, labels, patterns)
            if a:
                for key in ("summary", "description", "runbook_url"):
                    assert a["annotations"].get(key), f"{name}: annotation {key} empty: {a}"
                assert a["labels"].get("severity") in ("critical", "warning", "info")
                del missing[name]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    if missing:
        _, failures = stack.query("acs_ingestion_failures_total")
        _, progress = stack.query("acs_ingestion_in_progress_duration_seconds")
        pytest.fail(
            f"not firing within {ALERT_TIMEOUT}s of the first scrape: {sorted(missing)}\n"
            f"alerts: {json.dumps([{'labels': a['labels'], 'state': a['state']} for a in alerts], indent=1)}\n"
            f"acs_ingestion_failures_total: {json.dumps(failures.get('data'))}\n"
            f"acs_ingestion_in_progress_duration_seconds: {json.dumps(progress.get('data'))}\n"
            + stack.logs())


def test_used_metric_names_are_exposed(stack):
    stack.ensure_running()
    status, text = http_get(f"{stack.exporter_url}/metrics")
    assert status == 200
    samples, types = parse_exposition(text)
    excluded = recording_rule_names() | PROMETHEUS_SYNTHETIC
    used: dict[str, set[str]] = {}
    for fname, title, ref, expr in dashboard_targets():
        for name in metric_names(substitute(expr, _static_values())):
            used.setdefault(name, set()).add(f"{fname}: {title}")
    for fname, dash in load_dashboards().items():
        for var in dash["templating"]["list"]:
            if var["type"] == "query":
                query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
                m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", query)
                for name in metric_names(substitute(m.group(1), _static_values()) if m else query):
                    used.setdefault(name, set()).add(f"{fname}: variable ${var['name']}")
    for group in rule_documents()["groups"]:
        for rule in group["rules"]:
            for name in metric_names(rule["expr"]):
                used.setdefault(name, set()).add(f"rule {rule.get('alert') or rule.get('record')}")
    assert "acs_ingestion_requests_total" in used  # the extractor works at all
    unknown = {n: sorted(w) for n, w in used.items() if n not in excluded and not is_exposed(n, samples, types)}
    assert not unknown, "metric names not exposed by the exporter:\n" + "\n".join(
        f"  {n}: used by {', '.join(w)}" for n, w in sorted(unknown.items()))


def _static_values() -> dict[str, str]:
    values = dict(BUILTIN_VARIABLES)
    values.update(job=".*", instance=".*", tenant=".*", mapping=".*", datasource="prometheus")
    return values


def test_zz_processes_stop_and_ports_close(stack):
    """Last test of the module: stop both processes and check their ports."""
    ports = {"exporter": stack.exporter_port, "prometheus": stack.prometheus_port}
    stack.stop()
    for proc in (stack.exporter, stack.prometheus):
        assert proc.popen.poll() is not None, f"{proc.name} still running"
    deadline = time.monotonic() + 10
    still = dict(ports)
    while still and time.monotonic() < deadline:
        still = {n: p for n, p in still.items() if port_open(p)}
        if still:
            time.sleep(0.5)
    assert not still, f"ports still listening after stop: {still}"
