"""Static checks of the monitoring content (no network, no exporter needed).

Dashboards (dashboards/*.json):
  * only timeseries / stat / table / bargauge panels (rows are allowed as
    containers and are not panels themselves);
  * every panel has a description and a unit in fieldConfig.defaults;
  * a `datasource` variable (type datasource, query prometheus) exists and
    every panel and target uses it;
  * job / instance / tenant / mapping query variables (multi, include All);
  * every rate()/irate()/increase() window is $__rate_interval, except
    $__range (the dashboard's time range, any dashboard) and the fixed
    capacity windows [1d] / [7d] / [30d] (capacity dashboard only);
  * uids are pinned in EXPECTED_UIDS (stable links) and unique; panel ids unique.

Rules (alerts/acs-ingestion.rules.yml):
  * thresholds are label-less `vector(<number>)` recording rules in the first
    group, referenced by alerts, and documented in docs/monitoring.md;
  * every alert: AcsIngestion* CamelCase name, severity critical/warning/info,
    summary / description / runbook_url, a `for:`; the runbook anchor exists
    in docs/runbooks.md;
  * every alert is unit-tested both firing and not firing in alerts/tests/;
  * promtool check/test rules pass (skipped when promtool is not installed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "dashboards"
RULES_FILE = REPO / "alerts" / "acs-ingestion.rules.yml"
RULE_TESTS = REPO / "alerts" / "tests"
RUNBOOKS = REPO / "docs" / "runbooks.md"
MONITORING_DOC = REPO / "docs" / "monitoring.md"

# Pinned dashboard uids: links, alerts and bookmarks rely on them. A new
# dashboard must be added here.
EXPECTED_UIDS = {
    "acs-ingestion-overview.json": "acs-ingestion-overview",
    "acs-ingestion-capacity.json": "acs-ingestion-capacity",
}
# Dashboards allowed to use fixed report windows in rate()/increase().
CAPACITY_DASHBOARDS = {"acs-ingestion-capacity.json"}
CAPACITY_WINDOWS = {"1d", "7d", "30d"}

ALLOWED_PANEL_TYPES = {"timeseries", "stat", "table", "bargauge"}
CONTAINER_TYPES = {"row"}
REQUIRED_QUERY_VARIABLES = ("job", "instance", "tenant", "mapping")
DATASOURCE_REF = "${datasource}"
RUNBOOK_PREFIX = (
    "https://github.com/acs-ingestion-exporter/acs-ingestion-exporter/blob/main/docs/runbooks.md#"
)
SEVERITIES = {"critical", "warning", "info"}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def load_dashboard(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def iter_panels(panels):
    """Yield every panel, descending into rows (collapsed rows keep theirs)."""
    for panel in panels or []:
        yield panel
        yield from iter_panels(panel.get("panels"))


def real_panels(dashboard: dict):
    return [p for p in iter_panels(dashboard.get("panels")) if p.get("type") not in CONTAINER_TYPES]


def panel_exprs(dashboard: dict):
    for panel in real_panels(dashboard):
        for target in panel.get("targets") or []:
            if target.get("expr"):
                yield panel, target["expr"]


RATE_CALL = re.compile(r"\b(rate|irate|increase)\s*\(")


def range_windows(expr: str):
    """Yield (function, window) for every rate/irate/increase call of expr."""
    for m in RATE_CALL.finditer(expr):
        depth, i = 1, m.end()
        window = None
        while i < len(expr) and depth:
            c = expr[i]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == "[" and depth == 1:
                end = expr.index("]", i)
                window = expr[i + 1:end].strip()
                i = end
            elif c == '"':  # skip label values
                i = expr.index('"', i + 1)
            i += 1
        yield m.group(1), window


def github_anchor(heading: str) -> str:
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def load_rules() -> dict:
    with RULES_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def all_alerts():
    return [r for g in load_rules()["groups"] for r in g["rules"] if "alert" in r]


# --------------------------------------------------------------------------
# dashboards
# --------------------------------------------------------------------------

def test_dashboards_present():
    names = {p.name for p in dashboard_files()}
    assert names == set(EXPECTED_UIDS), (
        f"dashboards/ holds {sorted(names)}; pin every dashboard's uid in EXPECTED_UIDS"
    )
    assert (DASHBOARDS / "provisioning.yml").is_file()


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_top_level(path):
    d = load_dashboard(path)
    for key in ("uid", "title", "panels", "templating", "schemaVersion", "time"):
        assert key in d, f"{path.name}: missing {key}"
    assert d["schemaVersion"] >= 36, "Grafana 10+ schema expected"
    assert d.get("id") in (None,), f"{path.name}: drop the instance-specific `id`"
    assert real_panels(d), f"{path.name}: no panels"


def test_uids_stable_and_unique():
    uids = {}
    for path in dashboard_files():
        uid = load_dashboard(path)["uid"]
        assert uid == EXPECTED_UIDS[path.name], f"{path.name}: uid changed to {uid!r}"
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid), f"invalid uid {uid!r}"
        assert uid not in uids, f"uid {uid!r} used by {uids.get(uid)} and {path.name}"
        uids[uid] = path.name


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_panel_ids_unique_and_positioned(path):
    d = load_dashboard(path)
    ids = [p.get("id") for p in iter_panels(d["panels"])]
    assert None not in ids, f"{path.name}: panel without id"
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
    for p in iter_panels(d["panels"]):
        g = p.get("gridPos") or {}
        assert {"h", "w", "x", "y"} <= set(g), f"{path.name}: panel {p.get('title')!r} lacks gridPos"
        assert g["x"] + g["w"] <= 24, f"{path.name}: panel {p.get('title')!r} wider than the grid"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_allowed_panel_types(path):
    d = load_dashboard(path)
    for p in iter_panels(d["panels"]):
        t = p.get("type")
        assert t in ALLOWED_PANEL_TYPES | CONTAINER_TYPES, (
            f"{path.name}: panel {p.get('title')!r} has type {t!r}; allowed: {sorted(ALLOWED_PANEL_TYPES)}"
        )
        if t in CONTAINER_TYPES:
            assert not p.get("targets"), f"{path.name}: row {p.get('title')!r} has queries"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_every_panel_has_description_unit_and_query(path):
    d = load_dashboard(path)
    for p in real_panels(d):
        title = p.get("title")
        assert title, f"{path.name}: panel {p.get('id')} without title"
        assert (p.get("description") or "").strip(), f"{path.name}: panel {title!r} has no description"
        unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        assert isinstance(unit, str) and unit.strip(), f"{path.name}: panel {title!r} has no unit"
        targets = p.get("targets") or []
        assert targets and all(t.get("expr") for t in targets), f"{path.name}: panel {title!r} lacks a PromQL expr"
        refs = [t.get("refId") for t in targets]
        assert len(refs) == len(set(refs)), f"{path.name}: panel {title!r} has duplicate refIds"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_datasource_variable_used_everywhere(path):
    d = load_dashboard(path)
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("datasource")
    assert ds is not None, f"{path.name}: no `datasource` variable"
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for p in real_panels(d):
        assert p.get("datasource", {}).get("uid") == DATASOURCE_REF, (
            f"{path.name}: panel {p['title']!r} does not use ${{datasource}}"
        )
        for t in p["targets"]:
            assert t.get("datasource", {}).get("uid") == DATASOURCE_REF, (
                f"{path.name}: a target of {p['title']!r} does not use ${{datasource}}"
            )
    for v in variables.values():
        if v["type"] == "query":
            assert v.get("datasource", {}).get("uid") == DATASOURCE_REF, f"{path.name}: variable {v['name']}"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_query_variables(path):
    d = load_dashboard(path)
    variables = {v["name"]: v for v in d["templating"]["list"]}
    for name in REQUIRED_QUERY_VARIABLES:
        v = variables.get(name)
        assert v is not None, f"{path.name}: missing variable {name}"
        assert v["type"] == "query"
        assert v.get("multi") is True and v.get("includeAll") is True, f"{path.name}: {name} must be multi/includeAll"
        query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        assert re.fullmatch(rf"label_values\(.+,\s*{name}\)", query), f"{path.name}: {name} query {query!r}"
    # every expression filters on the variables it can
    for p, expr in panel_exprs(d):
        if "acs_ingestion:" in expr:  # recording rules carry no instance label
            continue
        assert '$job' in expr and '$instance' in expr, f"{path.name}: {p['title']!r} ignores $job/$instance"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_rate_windows(path):
    d = load_dashboard(path)
    allowed = {"$__rate_interval", "$__range"}
    if path.name in CAPACITY_DASHBOARDS:
        allowed |= CAPACITY_WINDOWS
    for p, expr in panel_exprs(d):
        for func, window in range_windows(expr):
            assert window is not None, f"{path.name}: {p['title']!r}: {func}() without a range: {expr}"
            assert window in allowed, (
                f"{path.name}: {p['title']!r}: {func}(...[{window}]) - use $__rate_interval"
                f" (allowed here: {sorted(allowed)})"
            )


def test_range_window_parser():
    expr = 'sum(rate(a_total{x="[1m]"}[$__rate_interval])) / increase(b_total[7d])'
    assert list(range_windows(expr)) == [("rate", "$__rate_interval"), ("increase", "7d")]


# --------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------

def test_thresholds_are_constants_in_first_group():
    groups = load_rules()["groups"]
    first = groups[0]
    assert first["rules"], "the first group must hold the thresholds"
    names = []
    for r in first["rules"]:
        assert "record" in r, "only recording rules in the thresholds group"
        assert r["record"].startswith("acs_ingestion:threshold_"), r["record"]
        assert re.fullmatch(r"vector\(\s*[0-9.eE+-]+\s*\)", r["expr"].strip()), r["expr"]
        assert not r.get("labels"), "thresholds must stay label-less for on() group_left()"
        names.append(r["record"])
    text = RULES_FILE.read_text(encoding="utf-8")
    doc = MONITORING_DOC.read_text(encoding="utf-8")
    for name in names:
        uses = [a["alert"] for a in all_alerts() if name in a["expr"]]
        assert uses, f"threshold {name} is not used by any alert"
        assert name in doc, f"threshold {name} is not documented in docs/monitoring.md"
    # no other group redefines a threshold
    assert text.count("record: acs_ingestion:threshold_") == len(names)


def test_recording_rule_names_follow_convention():
    for g in load_rules()["groups"]:
        for r in g["rules"]:
            if "record" in r:
                assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+|acs_ingestion:threshold_[a-z_]+", r["record"]), r["record"]


def test_alert_metadata():
    anchors = {
        github_anchor(m.group(1))
        for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", RUNBOOKS.read_text(encoding="utf-8"), re.M)
    }
    alerts = all_alerts()
    assert len(alerts) >= 9
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names)), "duplicate alert names"
    for a in alerts:
        name = a["alert"]
        assert re.fullmatch(r"AcsIngestion(?:[A-Z][a-z0-9]*)+", name), f"{name}: not AcsIngestion* CamelCase"
        assert a.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        assert "for" in a, f"{name}: no `for:`"
        ann = a.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            assert (ann.get(key) or "").strip(), f"{name}: no {key}"
        if "absent(" not in a["expr"]:  # absent() results carry no labels to show
            assert "{{ $labels." in ann["description"], f"{name}: description should use label values"
        url = ann["runbook_url"]
        assert url.startswith(RUNBOOK_PREFIX), f"{name}: runbook_url {url}"
        anchor = url[len(RUNBOOK_PREFIX):]
        assert anchor == name.lower(), f"{name}: anchor should be #{name.lower()}"
        assert anchor in anchors, f"{name}: docs/runbooks.md has no section #{anchor}"


def test_required_alerts_exist():
    names = {a["alert"] for a in all_alerts()}
    required = {
        "AcsIngestionRequestFailed", "AcsIngestionRequestAborted", "AcsIngestionRequestStuckInProgress",
        "AcsIngestionNoRecentSuccess", "AcsIngestionZeroRecordsIngested", "AcsIngestionExporterDown",
        "AcsIngestionExporterAbsent", "AcsIngestionApiUnreachable", "AcsIngestionApiThrottled",
        "AcsIngestionApiErrors",
    }
    assert required <= names, f"missing: {sorted(required - names)}"


def test_every_alert_tested_firing_and_not_firing():
    firing, silent = set(), set()
    files = sorted(RULE_TESTS.glob("*.yml"))
    assert files, "no promtool test files"
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc.get("rule_files") == ["../acs-ingestion.rules.yml"], f"{path.name}: rule_files"
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []) or []:
                exp = case.get("exp_alerts") or []
                if exp:
                    firing.add(case["alertname"])
                    for alert in exp:
                        assert alert.get("exp_labels", {}).get("severity"), f"{path.name}: exp_labels incomplete"
                        assert set(alert.get("exp_annotations", {})) >= {"summary", "description", "runbook_url"}, (
                            f"{path.name}: {case['alertname']} exp_annotations incomplete"
                        )
                else:
                    silent.add(case["alertname"])
    names = {a["alert"] for a in all_alerts()}
    assert names - firing == set(), f"never tested firing: {sorted(names - firing)}"
    assert names - silent == set(), f"never tested not firing: {sorted(names - silent)}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_promtool_check_and_unit_tests():
    check = subprocess.run(["promtool", "check", "rules", str(RULES_FILE)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test_files = [str(p) for p in sorted(RULE_TESTS.glob("*.yml"))]
    run = subprocess.run(["promtool", "test", "rules", *test_files], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


# ---------------------------------------------------------------------------
# docs/architecture.md's module table names exactly the targets of Package.swift.
# ---------------------------------------------------------------------------
def test_module_table_matches_package_swift():
    package = (REPO / "Package.swift").read_text()
    targets = set(re.findall(r'\.(?:target|executableTarget|systemLibrary)\(\s*name:\s*"([^"]+)"', package))
    assert targets, "no target found in Package.swift"
    text = (REPO / "docs" / "architecture.md").read_text()
    assert "## Modules" in text, "docs/architecture.md has no '## Modules' section"
    table = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    named = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            named.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    # The shared test support lives in Tests/TestSupport; the table names it by its path.
    named = {"TestSupport" if name == "Tests/TestSupport" else name for name in named}
    assert named == targets, (f"in Package.swift, not in docs/architecture.md: {sorted(targets - named)}; "
                              f"in docs/architecture.md, not in Package.swift: {sorted(named - targets)}")
