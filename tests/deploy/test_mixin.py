"""The monitoring mixin (mixin/): its outputs are the committed files, its
selector reaches every expression over the exporter's series, and its alerts
carry what the monitoring-mixins conventions ask for. Needs jsonnet, no build."""
from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("render_mixin", REPO / "scripts" / "render-mixin.py")
render_mixin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_mixin)

pytestmark = pytest.mark.skipif(shutil.which("jsonnet") is None, reason="jsonnet not installed (apt-get install jsonnet)")

CUSTOM = 'job="custom"'
DEFAULT = 'job=~".*acs[-_]ingestion.*"'
# A raw series of the exporter, or Prometheus' `up` of its targets. Recording rules
# (level:metric:operation, acs_ingestion:threshold_*) contain a colon and are not raw.
RAW_NAME = re.compile(r"acs_ingestion_[a-z0-9_]+|up")
WORD = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def raw_selectors(expr: str):
    """Yield (metric name, its matchers or None) for every raw series the expression reads."""
    i = 0
    while i < len(expr):
        c = expr[i]
        if c == '"':
            i = expr.index('"', i + 1) + 1
            continue
        if expr.startswith("{__name__", i):  # a selector by __name__ alone
            end = expr.index("}", i)
            yield "__name__", expr[i + 1:end]
            i = end + 1
            continue
        m = WORD.match(expr, i)
        if not m:
            i += 1
            continue
        word, i = m.group(0), m.end()
        if not RAW_NAME.fullmatch(word):
            continue
        if word == "up" and expr[i:].lstrip().startswith("("):
            continue  # not a metric
        if i < len(expr) and expr[i] == "{":
            end = expr.index("}", i)
            yield word, expr[i + 1:end]
            i = end + 1
        else:
            yield word, None


def test_raw_selectors_finds_bare_and_matched_series():
    found = list(raw_selectors('sum(rate(acs_ingestion_a_total{x="up"}[5m])) * on () up'
                               ' / tenant:acs_ingestion_b:rate5m + acs_ingestion:threshold_x'))
    assert found == [("acs_ingestion_a_total", 'x="up"'), ("up", None)]


def all_expressions(mixin: dict):
    for group in mixin["rules"]["groups"] + mixin["alerts"]["groups"]:
        for rule in group["rules"]:
            yield f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]
    for name, dashboard in mixin["dashboards"].items():
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                query = variable["query"]
                yield f"{name} ${variable['name']}", query["query"] if isinstance(query, dict) else query
        stack = list(dashboard["panels"])
        while stack:
            panel = stack.pop()
            stack.extend(panel.get("panels") or [])
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    yield f"{name} panel {panel.get('title')!r}", target["expr"]


@pytest.fixture(scope="module")
def custom():
    return render_mixin.render_mixin("{ acsIngestionExporterSelector: 'job=\"custom\"' }")


def test_selector_reaches_every_raw_series(custom):
    missing, seen = [], 0
    for where, expr in all_expressions(custom):
        for name, matchers in raw_selectors(expr):
            seen += 1
            if matchers is None or CUSTOM not in matchers:
                missing.append(f"{where}: {name}{{{matchers or ''}}}")
    assert seen > 100, "the extractor found next to nothing"
    assert not missing, "series read without the selector:\n" + "\n".join(missing)


def test_default_selector_is_gone_when_overridden(custom):
    text = repr(custom)
    assert "acs[-_]ingestion" not in text.replace("acs-ingestion", "")


def test_default_selector_is_the_job_regex():
    default = render_mixin.render_mixin()
    exprs = [e for _, e in all_expressions(default)]
    assert any(DEFAULT in e for e in exprs)
    assert not any(CUSTOM in e for e in exprs)


def test_thresholds_come_from_the_config():
    mixin = render_mixin.render_mixin("{ thresholds+: { in_progress_seconds: 60 } }")
    records = {r["record"]: r["expr"] for g in mixin["rules"]["groups"] for r in g["rules"] if "record" in r}
    assert records["acs_ingestion:threshold_in_progress_seconds"] == "vector(60)"


def test_every_alert_has_severity_summary_description_runbook():
    mixin = render_mixin.render_mixin("{ runbookURLBase: 'https://runbooks.example/acs' }")
    alerts = [r for g in mixin["alerts"]["groups"] for r in g["rules"]]
    assert len(alerts) >= 20
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, alert["alert"]
        annotations = alert["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), alert["alert"]
        assert "\n" not in annotations["description"], alert["alert"]
        assert annotations["runbook_url"] == "https://runbooks.example/acs#" + alert["alert"].lower()
    assert not [r for g in mixin["alerts"]["groups"] for r in g["rules"] if "record" in r]


def test_dashboards_take_uids_tags_and_datasource_from_the_config():
    mixin = render_mixin.render_mixin(
        "{ dashboards+: { overview+: { uid: 'ov' } }, dashboardTags: ['t'], datasourceRegex: 'prom-.*' }")
    overview = mixin["dashboards"]["acs-ingestion-overview.json"]
    assert overview["uid"] == "ov"
    assert overview["tags"] == ["t"]
    datasource = overview["templating"]["list"][0]
    assert datasource["type"] == "datasource" and datasource["regex"] == "prom-.*"


def test_committed_files_are_the_mixins_output():
    stale = [str(p.relative_to(REPO)) for p, content in render_mixin.outputs().items()
             if not p.exists() or p.read_text(encoding="utf-8") != content]
    assert not stale, f"run `make mixin`: {stale}"
