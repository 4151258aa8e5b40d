"""deploy/k8s, checked structurally (no cluster here): one Deployment per service with its
probes, limits and non-root security context, a PodDisruptionBudget and an autoscaler each;
labels, ports and Secrets that match; the NATS StatefulSet and its generated config."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from custody import nats_config, subjects
from custody.cli.deploy import DB_ROLES, k8s_secrets
from custody.runtime.nats_server import NatsServer
from tests.deploy.structure import ROOT, SETTINGS, env_names, nats_config_check, parse_command

K8S = ROOT / "deploy" / "k8s"
HTTP_PORTS = {"intake": 8610, "ledger": 8611}
# Set for needs this issue reported rather than met (see the issue #11 report); remove each
# once the settings read it:
# - NKey login needs a settings field and make_broker(nkeys_seed=...) (and the `nkeys` package);
# - the worker health server binds 127.0.0.1, which the kubelet's probes cannot reach.
PENDING_ENV: set[str] = set()  # variables a manifest sets before a service reads them


def manifests() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path, doc


def find(kind: str, name: str) -> dict[str, Any]:
    found = [d for _, d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in c.get("env", [])}


def secrets() -> dict[str, dict[str, str]]:
    """What `custody deploy secrets` makes: name -> keys (values are fresh each call)."""
    return {s["metadata"]["name"]: s["stringData"] for s in k8s_secrets("custody", "postgres")}


def test_kustomization_lists_files_that_exist() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "custody"
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    listed = {K8S / r for r in kustomization["resources"]}
    assert listed == {p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml"}
    (generator,) = kustomization["configMapGenerator"]
    assert [K8S / f for f in generator["files"]] == [ROOT / nats_config.K8S_CONF]


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_one_deployment_per_service_running_that_service(name: str) -> None:
    deployment = find("Deployment", name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
    assert labels["app.kubernetes.io/name"] == name
    c = container(deployment)
    assert c["name"] == name
    assert c["image"] == "custody"  # the kustomization's `images` points it at a registry
    args = parse_command(c["args"])
    assert (args.command, args.service) == ("run", name)


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_requests_limits_and_probes(name: str) -> None:
    c = container(find("Deployment", name))
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][bound]), bound
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe, path in (
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
    ):
        get = c[probe]["httpGet"]
        assert get["path"] == path, probe
        assert get["port"] in ports, probe
    env = env_of(c)
    (port,) = ports.values()
    if name in HTTP_PORTS:
        assert port == HTTP_PORTS[name] == int(env[f"CUSTODY_{name.upper()}_PORT"]["value"])
        assert env[f"CUSTODY_{name.upper()}_HOST"]["value"] == "0.0.0.0"
    else:
        assert port == int(env["CUSTODY_HEALTH_PORT"]["value"])


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_non_root_read_only_and_without_privileges(name: str) -> None:
    deployment = find("Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    c = container(deployment)
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    volumes = {v["name"]: v for v in pod["volumes"]}
    tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert tmp
    assert "emptyDir" in volumes[tmp[0]["name"]]


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_every_variable_set_is_read_by_the_services_settings(name: str) -> None:
    env = set(env_of(container(find("Deployment", name))))
    unread = env - env_names(SETTINGS[name]) - PENDING_ENV
    assert not unread, f"{name} sets {sorted(unread)}, which its settings class does not read"


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_each_service_logs_in_with_its_own_generated_seed(name: str) -> None:
    pod = find("Deployment", name)["spec"]["template"]["spec"]
    c = container(find("Deployment", name))
    seed_file = Path(env_of(c)["CUSTODY_NATS_NKEY_SEED_FILE"]["value"])
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volume = {v["name"]: v for v in pod["volumes"]}[mounts[str(seed_file.parent)]]
    made = secrets()
    assert volume["secret"]["secretName"] == f"custody-{name}-nats"
    assert seed_file.name in made[volume["secret"]["secretName"]]
    for variable in env_of(c).values():
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in made[ref["name"]], ref


@pytest.mark.parametrize("name", subjects.SERVICES)
def test_disruption_budget_and_autoscaler_target_the_deployment(name: str) -> None:
    deployment = find("Deployment", name)
    selector = deployment["spec"]["selector"]
    budget = find("PodDisruptionBudget", name)
    assert budget["spec"]["selector"] == selector
    assert budget["spec"]["minAvailable"] == 1
    hpa = find("HorizontalPodAutoscaler", name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    assert 2 <= hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"]
    assert hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("name", sorted(HTTP_PORTS))
def test_http_services_route_to_the_named_port_of_their_pods(name: str) -> None:
    service = find("Service", name)
    pod_labels = find("Deployment", name)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    port_names = {p["name"] for p in container(find("Deployment", name))["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names


def test_ledger_logs_in_as_the_app_role() -> None:
    url = secrets()["custody-ledger-db"]["DATABASE_URL"]
    assert urlsplit(url).username == DB_ROLES["app"]


def test_provision_job_is_the_nats_admin_and_the_schema_owner() -> None:
    job = find("Job", "provision")
    c = container(job)
    (source,) = c["envFrom"]
    made = secrets()[source["secretRef"]["name"]]
    assert urlsplit(made["NATS_URL"]).username == "admin"
    assert urlsplit(made["DATABASE_URL"]).username == DB_ROLES["owner"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_provision_job_command_exists_and_makes_r3_streams() -> None:
    args = parse_command(container(find("Job", "provision"))["args"])
    assert args.stream_replicas == nats_config.NODES


def test_nats_statefulset_matches_its_generated_config() -> None:
    sts = find("StatefulSet", "nats")
    headless = find("Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert sts["spec"]["replicas"] == nats_config.NODES
    routes = {urlsplit(r).hostname for r in nats_config.k8s_routes()}
    assert routes == {f"nats-{i}.{headless['metadata']['name']}" for i in range(3)}
    c = container(sts)
    assert c["image"].split(":")[1].split("-")[0] == NatsServer.version()
    server_name = env_of(c)[nats_config.SERVER_NAME_ENV]["valueFrom"]["fieldRef"]
    assert server_name == {"fieldPath": "metadata.name"}
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/etc/nats", "/data", str(Path(nats_config.K8S_PID_FILE).parent)} <= mounts
    assert "/etc/nats/nats.conf" in c["args"]
    assert find("PodDisruptionBudget", "nats")["spec"]["maxUnavailable"] == 1


def test_nats_credentials_come_from_the_generated_secret() -> None:
    c = container(find("StatefulSet", "nats"))
    (source,) = c["envFrom"]
    made = secrets()[source["secretRef"]["name"]]
    conf = (ROOT / nats_config.K8S_CONF).read_text()
    # Bare $NAME references, not quoted subjects such as "$JS.API.>".
    variables = set(re.findall(r"\$([A-Z_][A-Z0-9_]*)(?![A-Z0-9_.])", conf))
    variables -= {nats_config.SERVER_NAME_ENV}
    variables = {v for v in variables if not v.startswith("PERMISSIONS_")}
    assert variables
    assert variables == set(made)


def test_k8s_nats_config_passes_nats_server_t_with_generated_nkeys() -> None:
    env = dict(secrets()["custody-nats-users"])
    env[nats_config.SERVER_NAME_ENV] = "nats-0"
    result = nats_config_check(ROOT / nats_config.K8S_CONF, env)
    assert result.returncode == 0, result.stderr
    conf = (ROOT / nats_config.K8S_CONF).read_text()
    assert "sync_interval: always" in conf
    assert "no_auth_user" not in conf


def test_kubectl_kustomize_renders_the_whole_set() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    try:
        result = subprocess.run(
            [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"kubectl unusable here: {exc}")
    assert result.returncode == 0, result.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout) if d]
    assert kinds.count("Deployment") == len(subjects.SERVICES)
    assert kinds.count("HorizontalPodAutoscaler") == len(subjects.SERVICES)
    assert kinds.count("StatefulSet") == 1
