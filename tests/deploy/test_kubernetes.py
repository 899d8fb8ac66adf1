"""The Kubernetes manifests (deploy/kubernetes/, rendered from manifests.jsonnet):
valid core objects, hardened pods, and monitoring objects that carry exactly the
shipped rules and dashboards. No cluster needed.

Core kinds are validated by kubernetes-validate --strict (offline schemas). Its
schemas do not include the Prometheus Operator's CRDs, so ServiceMonitor and
PrometheusRule are checked here by structure: the fields the operator reads, and
nothing else in a rule.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "kubernetes"
VARIANTS = ("single", "ha")
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "Kustomization"}
DATA_DIR = "/var/lib/acs-ingestion-exporter"
# The exporter's resident set in the image with one tenant (make test-image prints it).
MEASURED_RSS_MIB = 40
RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def objects(directory: str) -> list[dict]:
    return [d for p in sorted((DEPLOY / directory).glob("*.yaml")) for d in documents(p)]


def one(directory: str, kind: str) -> dict:
    found = [o for o in objects(directory) if o["kind"] == kind]
    assert len(found) == 1, f"{directory}: {len(found)} {kind}"
    return found[0]


def mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def exporter_config(directory: str) -> dict:
    config_map = next(o for o in objects(directory) if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-config"))
    return yaml.safe_load(config_map["data"]["acs-ingestion-exporter.yml"])


def container(directory: str) -> dict:
    containers = one(directory, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


# --- kubernetes-validate ---------------------------------------------------------------

def core_files() -> list[Path]:
    return [p for p in sorted(DEPLOY.glob("*/*.yaml")) if not {d["kind"] for d in documents(p)} & CRD_KINDS]


def validate(*paths: Path) -> subprocess.CompletedProcess:
    program = shutil.which("kubernetes-validate")
    if program is None:
        pytest.fail("kubernetes-validate not found: pip install kubernetes-validate (make test installs it)")
    return subprocess.run([program, "--strict", *map(str, paths)], capture_output=True, text=True)


def test_core_objects_pass_kubernetes_validate_strict():
    files = core_files()
    assert {p.parent.name for p in files} == {"single", "ha", "monitoring"}
    result = validate(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = result.stdout.count(" passed ")
    assert passed == sum(len(documents(p)) for p in files), result.stdout


def test_kubernetes_validate_strict_rejects_an_unknown_field(tmp_path):
    """The check above can fail: a misspelt field is refused."""
    deployment = one("single", "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/-/ready", "port": "http"}}
    bad = tmp_path / "deployment.yaml"
    bad.write_text(yaml.safe_dump(deployment))
    assert validate(bad).returncode != 0


# --- pods ---------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_pod_is_hardened(variant):
    pod = one(variant, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container(variant)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security.get("privileged") is not True


@pytest.mark.parametrize("variant", VARIANTS)
def test_probes_use_healthy_and_ready(variant):
    c = container(variant)
    port_names = {p["name"] for p in c["ports"]}
    assert c["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert c["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"]["port"] in port_names


@pytest.mark.parametrize("variant", VARIANTS)
def test_requests_and_limits_cover_the_measured_memory(variant):
    resources = container(variant)["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), f"{kind}: {resources[kind]}"
    assert mib(resources["requests"]["memory"]) >= MEASURED_RSS_MIB
    assert mib(resources["limits"]["memory"]) >= 2 * mib(resources["requests"]["memory"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_config_and_secrets_are_mounted_not_written(variant):
    c = container(variant)
    pod = one(variant, "Deployment")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    config_arg = next(a for a in c["args"] if a.startswith("--config.file="))
    assert str(Path(config_arg.split("=", 1)[1]).parent) in mounts
    assert "/tmp" in mounts, "a writable /tmp beside the read-only root"
    volumes = {v["name"]: v for v in pod["volumes"]}
    config = exporter_config(variant)
    for tenant in config["tenants"]:
        assert "client_secret" not in tenant, "secrets come from a Secret, not the ConfigMap"
        secret_dir = str(Path(tenant["client_secret_file"]).parent)
        assert "secret" in volumes[mounts[secret_dir]["name"]]
    for directory in VARIANTS + ("monitoring",):
        assert not [o for o in objects(directory) if o["kind"] == "Secret"], "Secrets are created by the user"


def test_single_keeps_sqlite_on_its_claim():
    deployment = one("single", "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate", "one writer of the database file"
    c = container("single")
    storage = next(a for a in c["args"] if a.startswith("--storage.path="))
    assert storage.split("=", 1)[1].startswith(DATA_DIR + "/")
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == DATA_DIR)
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    claim = one("single", "PersistentVolumeClaim")
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert exporter_config("single")["storage"]["driver"] == "sqlite"


def test_ha_runs_three_replicas_on_postgres_from_a_secret():
    deployment = one("ha", "Deployment")
    assert deployment["spec"]["replicas"] == 3
    config = exporter_config("ha")
    assert config["cluster"]["enabled"] is True
    storage = config["storage"]
    assert storage["driver"] == "postgres" and "password" not in storage
    env = {e["name"]: e for e in container("ha")["env"]}
    variable = storage["url"].removeprefix("${").removesuffix("}")
    assert "secretKeyRef" in env[variable]["valueFrom"], "the URL comes from a Secret"
    replica = config["cluster"]["replica_name"].removeprefix("${").removesuffix("}")
    assert env[replica]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    mounts = {m["mountPath"] for m in container("ha")["volumeMounts"]}
    assert str(Path(storage["password_file"]).parent) in mounts


def test_ha_spreads_across_zones_and_has_a_disruption_budget():
    deployment = one("ha", "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    zone = next(s for s in spread if s["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    pdb = one("ha", "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert 1 <= pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_service_reaches_the_pods(variant):
    service, deployment = one(variant, "Service"), one(variant, "Deployment")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    names = {p["name"] for p in container(variant)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= names


@pytest.mark.parametrize("directory", VARIANTS + ("monitoring",))
def test_kustomization_lists_every_file(directory):
    kustomization = documents(DEPLOY / directory / "kustomization.yaml")[0]
    files = {p.name for p in (DEPLOY / directory).glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


# --- monitoring ---------------------------------------------------------------------------

def test_service_monitor_selects_the_service_port():
    monitor = one("monitoring", "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    for variant in VARIANTS:
        service = one(variant, "Service")
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        ports = {p["name"] for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in ports
            assert endpoint["honorLabels"] is True, "a cluster's tenant series carry their own instance label"
            assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "honorLabels", "scheme"}


def test_prometheus_rule_carries_exactly_the_rules_file():
    rule = one("monitoring", "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rule["spec"]) == {"groups"}
    rules_file = yaml.safe_load((REPO / "alerts" / "acs-ingestion.rules.yml").read_text(encoding="utf-8"))
    assert rule["spec"]["groups"] == rules_file["groups"]
    alerts = [r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert "AcsIngestionCollectorStalled" in alerts and len(alerts) == len(set(alerts))
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}
        for r in group["rules"]:
            assert set(r) <= RULE_KEYS, r
            assert ("alert" in r) != ("record" in r) and r["expr"].strip()


def test_a_configmap_per_dashboard_labelled_for_grafana():
    config_maps = [o for o in objects("monitoring") if o["kind"] == "ConfigMap"]
    dashboards = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "dashboards").glob("*.json")}
    shipped = {}
    for config_map in config_maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert len(config_map["data"]) == 1
        shipped.update(config_map["data"])
    assert shipped == dashboards
    for text in shipped.values():
        json.loads(text)
