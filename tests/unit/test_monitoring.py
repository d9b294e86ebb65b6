"""The stack's monitoring services and Prometheus configuration, from a plan."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from ansible_collections.frontier.llm.plugins.module_utils.monitoring import PROBE_JOB
from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan
from ansible_collections.frontier.llm.plugins.module_utils.stack import (
    compose_project,
    mountpoint,
    prometheus_config,
    settings_errors,
)
from ansible_collections.frontier.llm.plugins.module_utils.units import to_mib
from test_planner import linux
from test_stack import IMAGES, SMOLLM2, good_settings

ROOT = Path(__file__).resolve().parents[2]
BLACKBOX_YML = ROOT / "roles/stack/files/blackbox/blackbox.yml"
MONITORED = dict(IMAGES, prometheus="prom/prometheus:v2.53.3", node_exporter="prom/node-exporter:v1.9.0",
                 blackbox_exporter="prom/blackbox-exporter:v0.26.0")
MONITORING: Dict[str, Any] = {"config_dir": "/opt/frontier-llm/prometheus", "config_hash": "abc123",
                              "retention_time": "30d", "retention_size": "20GB", "engine_probe": True}


def llamacpp_plan() -> Dict[str, Any]:
    return resource_plan(linux(16), models=[SMOLLM2], engine="llamacpp")


def test_monitoring_services_take_the_plans_limits() -> None:
    plan = llamacpp_plan()
    services = compose_project(plan, MONITORED, monitoring=MONITORING)["services"]
    for service, component in (("prometheus", "prometheus"), ("node-exporter", "node_exporter")):
        wanted = plan["components"][component]
        assert to_mib(services[service]["mem_limit"], "mem_limit") == wanted["mem_limit_mb"]
        assert to_mib(services[service]["mem_reservation"], "mem_reservation") == wanted["mem_reservation_mb"]
        assert services[service]["cpus"] == wanted["cpus"]


def test_no_monitoring_service_publishes_a_port() -> None:
    compose = compose_project(llamacpp_plan(), MONITORED, monitoring=MONITORING)
    published = [name for name, service in compose["services"].items() if "ports" in service]
    assert published == ["nginx"]
    assert all("network_mode" not in service for service in compose["services"].values())


def test_prometheus_keeps_its_data_in_a_volume_with_the_retention_asked() -> None:
    compose = compose_project(llamacpp_plan(), MONITORED, monitoring=MONITORING)
    prometheus = compose["services"]["prometheus"]
    assert "prometheus-data:/prometheus" in prometheus["volumes"]
    assert "/opt/frontier-llm/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--storage.tsdb.retention.time=30d" in prometheus["command"]
    assert "--storage.tsdb.retention.size=20GB" in prometheus["command"]
    assert compose["volumes"] == {"prometheus-data": {}}
    # A changed configuration changes the service, so Compose recreates it and it reads the new files.
    assert prometheus["labels"]["org.frontier-llm.config"] == "abc123"


def test_without_monitoring_the_project_has_only_the_engine_and_nginx() -> None:
    compose = compose_project(llamacpp_plan(), IMAGES)
    assert sorted(compose["services"]) == ["llamacpp", "nginx"] and "volumes" not in compose
    assert compose["x-frontier"]["monitoring"] is False


def test_monitoring_needs_its_images() -> None:
    with pytest.raises(Exception, match="no image for the service 'prometheus'"):
        compose_project(llamacpp_plan(), IMAGES, monitoring=MONITORING)


def test_llamacpp_is_scraped_on_the_project_network_ollama_is_not() -> None:
    config = prometheus_config(llamacpp_plan(), "/", "15s", "h1")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["engine"]["static_configs"][0]["targets"] == ["llamacpp:8080"]
    assert jobs["engine"]["metrics_path"] == "/metrics"
    assert jobs["node"]["static_configs"][0]["targets"] == ["node-exporter:9100"]
    assert jobs["prometheus"]["metrics_path"] == "/prometheus/metrics"
    ollama = prometheus_config(resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"]), "/")
    assert [job["job_name"] for job in ollama["scrape_configs"]] == ["prometheus", "node"]


def test_the_models_filesystem_is_labelled_for_the_disk_alert() -> None:
    relabel = prometheus_config(llamacpp_plan(), "/var/lib")["scrape_configs"][1]["metric_relabel_configs"][0]
    assert relabel == {"source_labels": ["mountpoint"], "regex": "/var/lib", "target_label": "frontier_models",
                       "replacement": "true"}


def test_the_rule_files_prometheus_loads_are_the_roles() -> None:
    rules = ROOT / "roles/stack/files/prometheus/rules"
    assert prometheus_config(llamacpp_plan(), "/")["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    names = sorted(path.name for path in rules.glob("*.yml"))
    assert names == ["alerts.yml", "llm.yml"]
    for path in rules.glob("*.yml"):
        assert yaml.safe_load(path.read_text())["groups"], path


@pytest.mark.parametrize("mounts, path, expected", [
    ([{"mount": "/"}], "/var/lib/frontier-llm/models", "/"),
    ([{"mount": "/"}, {"mount": "/var/lib"}, {"mount": "/var/lib/docker"}], "/var/lib/frontier-llm/models", "/var/lib"),
    ([{"mount": "/"}, {"mount": "/var/lib/frontier"}], "/var/lib/frontier-llm/models", "/"),
    ([{"mount": "/srv/models"}], "/srv/models", "/srv/models"),
    ([], "/opt", "/"),
])
def test_mountpoint_is_the_longest_mount_that_holds_the_path(mounts: Any, path: str, expected: str) -> None:
    assert mountpoint(mounts, path) == expected


@pytest.mark.parametrize("name, value", [
    ("stack_prometheus_retention_time", "15 days"),
    ("stack_prometheus_retention_time", "15d --web.enable-admin-api"),
    ("stack_prometheus_retention_size", "10G"),
    ("stack_prometheus_scrape_interval", 15),
])
def test_bad_monitoring_settings_are_refused_naming_the_variable(name: str, value: Any) -> None:
    settings = dict(good_settings(), stack_images=MONITORED, stack_monitoring=True,
                    stack_prometheus_retention_time="15d", stack_prometheus_retention_size="10GB",
                    stack_prometheus_scrape_interval="15s")
    assert settings_errors(settings) == []
    errors = settings_errors(dict(settings, **{name: value}))
    assert len(errors) == 1 and errors[0].startswith(name), errors


def test_monitoring_without_its_images_is_refused() -> None:
    settings = dict(good_settings(), stack_monitoring=True, stack_prometheus_retention_time="15d",
                    stack_prometheus_retention_size="10GB", stack_prometheus_scrape_interval="15s", stack_engine_probe=True)
    assert settings_errors(settings) == ["stack_images: no image for prometheus, node_exporter, blackbox_exporter, which "
                                         "stack_monitoring deploys"]


def test_every_service_drops_its_capabilities_and_gains_no_privilege() -> None:
    services = compose_project(llamacpp_plan(), MONITORED, monitoring=MONITORING)["services"]
    for name, service in services.items():
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["cap_drop"] == ["ALL"], name
    # Nginx's master starts as root, binds and hands requests to unprivileged workers: only what that takes.
    assert services["nginx"]["cap_add"] == ["CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"]
    assert all("cap_add" not in service for name, service in services.items() if name != "nginx")
    assert all(not service.get("privileged") for service in services.values())


def test_cadvisor_runs_as_its_readme_says_with_the_plans_limits_and_no_port() -> None:
    images = dict(MONITORED, cadvisor="gcr.io/cadvisor/cadvisor:v0.49.1")
    plan = llamacpp_plan()
    compose = compose_project(plan, images, monitoring=dict(MONITORING, cadvisor=True))
    cadvisor = compose["services"]["cadvisor"]
    assert cadvisor["privileged"] is True and cadvisor["cgroup"] == "host"
    assert {"/:/rootfs:ro", "/var/run:/var/run:ro", "/sys:/sys:ro"} <= set(cadvisor["volumes"])
    assert "ports" not in cadvisor
    assert to_mib(cadvisor["mem_limit"], "mem_limit") == plan["components"]["cadvisor"]["mem_limit_mb"]
    jobs = [job["job_name"] for job in prometheus_config(plan, "/", cadvisor=True)["scrape_configs"]]
    assert jobs == ["prometheus", "node", "cadvisor", "engine"]
    with pytest.raises(Exception, match="no image for the service 'cadvisor'"):
        compose_project(plan, MONITORED, monitoring=dict(MONITORING, cadvisor=True))
    assert "cadvisor" not in compose_project(plan, images, monitoring=MONITORING)["services"]


def test_mtail_reads_nginx_lines_from_a_socket_in_a_shared_volume() -> None:
    images = dict(MONITORED, mtail="ghcr.io/google/mtail:3.0.9")
    plan = llamacpp_plan()
    compose = compose_project(plan, images, monitoring=dict(MONITORING, gateway_metrics=True))
    mtail, nginx = compose["services"]["mtail"], compose["services"]["nginx"]
    assert "gateway-log:/run/frontier-gateway-log" in mtail["volumes"]
    assert "gateway-log:/run/frontier-gateway-log" in nginx["volumes"]
    assert "/opt/frontier-llm/prometheus/mtail:/etc/mtail:ro" in mtail["volumes"]
    assert compose["volumes"] == {"prometheus-data": {}, "gateway-log": {}}
    assert "unixgram:///run/frontier-gateway-log/mtail.sock" in mtail["command"]
    # A stale socket is removed and the new one is writable by Nginx's workers.
    assert "rm -f /run/frontier-gateway-log/mtail.sock" in mtail["entrypoint"][2]
    assert mtail["entrypoint"][2].startswith("umask 000 && ")
    assert "ports" not in mtail and mtail["read_only"] is True and mtail["cap_drop"] == ["ALL"]
    assert to_mib(mtail["mem_limit"], "mem_limit") == plan["components"]["mtail"]["mem_limit_mb"]
    assert compose["x-frontier"]["gateway_log"] == "/run/frontier-gateway-log/mtail.sock"
    # Scraped, labelled with the engine and the one model this host serves.
    jobs = {job["job_name"]: job for job in prometheus_config(plan, "/", gateway_metrics=True)["scrape_configs"]}
    assert jobs["gateway"]["static_configs"] == [{"targets": ["mtail:3903"],
                                                  "labels": {"engine": "llamacpp", "model": "smollm2:135m"}}]
    two = resource_plan(linux(16), models=[SMOLLM2, dict(SMOLLM2, name="b")])
    labels = {job["job_name"]: job for job in prometheus_config(two, "/", gateway_metrics=True)["scrape_configs"]}
    assert labels["gateway"]["static_configs"][0]["labels"] == {"engine": "ollama"}
    # Off: no mtail, no volume, and Nginx logs to stdout only.
    plain = compose_project(plan, images, monitoring=MONITORING)
    assert "mtail" not in plain["services"] and "gateway-log" not in plain["volumes"]
    assert plain["x-frontier"]["gateway_log"] is None
    assert "gateway" not in [job["job_name"] for job in prometheus_config(plan, "/")["scrape_configs"]]
    with pytest.raises(Exception, match="no image for the service 'mtail'"):
        compose_project(plan, MONITORED, monitoring=dict(MONITORING, gateway_metrics=True))


GRAFANA = {"dir": "/opt/frontier-llm/grafana", "password_file": "/opt/frontier-llm/secrets/grafana_admin_password",
           "root_url": "https://llm.example.org/grafana/", "config_hash": "f00"}


def test_grafana_serves_under_its_path_with_its_own_login_and_no_default_password() -> None:
    images = dict(MONITORED, grafana="grafana/grafana:11.6.0")
    plan = llamacpp_plan()
    compose = compose_project(plan, images, monitoring=dict(MONITORING, grafana=GRAFANA))
    grafana = compose["services"]["grafana"]
    env = grafana["environment"]
    assert env["GF_SERVER_ROOT_URL"] == "https://llm.example.org/grafana/" and env["GF_SERVER_SERVE_FROM_SUB_PATH"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    # The password is read from the mounted file, never given in the environment.
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert "/opt/frontier-llm/secrets/grafana_admin_password:/run/secrets/grafana_admin_password:ro" in grafana["volumes"]
    assert "/opt/frontier-llm/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "grafana-data:/var/lib/grafana" in grafana["volumes"] and "grafana-data" in compose["volumes"]
    assert "ports" not in grafana and grafana["read_only"] is True and grafana["cap_drop"] == ["ALL"]
    assert to_mib(grafana["mem_limit"], "mem_limit") == plan["components"]["grafana"]["mem_limit_mb"]
    assert compose["x-frontier"]["grafana"] is True
    plain = compose_project(plan, images, monitoring=MONITORING)
    assert "grafana" not in plain["services"] and plain["x-frontier"]["grafana"] is False
    with pytest.raises(Exception, match="no image for the service 'grafana'"):
        compose_project(plan, MONITORED, monitoring=dict(MONITORING, grafana=GRAFANA))


def test_grafana_provisions_the_datasource_every_panel_names() -> None:
    files = ROOT / "roles" / "stack" / "files" / "grafana"
    source = yaml.safe_load((files / "provisioning" / "datasources" / "frontier.yml").read_text())["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090/prometheus"
    provider = yaml.safe_load((files / "provisioning" / "dashboards" / "frontier.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/var/lib/frontier-dashboards" and provider["allowUiUpdates"] is False
    uids = set()
    for path in (files / "dashboards").glob("*.json"):
        for panel in yaml.safe_load(path.read_text())["panels"]:
            uids.add(panel["datasource"]["uid"])
            uids.update(target["datasource"]["uid"] for target in panel["targets"])
    assert uids == {source["uid"]}


def test_alertmanager_gets_prometheus_alerts_and_the_users_one_receiver() -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.monitoring import alertmanager_config
    images = dict(MONITORED, alertmanager="prom/alertmanager:v0.28.1")
    plan = llamacpp_plan()
    compose = compose_project(plan, images, monitoring=dict(MONITORING, alertmanager=True))
    service = compose["services"]["alertmanager"]
    assert "/opt/frontier-llm/prometheus/alertmanager:/etc/alertmanager:ro" in service["volumes"]
    assert "alertmanager-data" in compose["volumes"] and "ports" not in service and service["read_only"] is True
    assert to_mib(service["mem_limit"], "mem_limit") == plan["components"]["alertmanager"]["mem_limit_mb"]
    config = prometheus_config(plan, "/", alertmanager=True)
    assert config["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}
    assert "alerting" not in prometheus_config(plan, "/")
    hook = {"webhook_configs": [{"url": "https://hooks.example.org/x", "send_resolved": True}]}
    routed = alertmanager_config(hook, "5s")
    assert routed["route"]["receiver"] == "frontier" and routed["route"]["group_wait"] == "5s"
    assert routed["receivers"] == [dict(hook, name="frontier")]


@pytest.mark.parametrize("receiver, message", [
    ({}, "must be a dict of Alertmanager receiver settings"),
    ("https://hooks.example.org", "must be a dict"),
    ({"webhooks": [{"url": "x"}]}, "webhooks: not an Alertmanager integration"),
    ({"webhook_configs": []}, "webhook_configs: expected a non-empty list"),
    ({"email_configs": ["ops@example.org"]}, "email_configs: expected a non-empty list of dicts"),
])
def test_a_bad_receiver_is_refused_before_any_change(receiver: Any, message: str) -> None:
    settings = dict(good_settings(), stack_images=dict(MONITORED, alertmanager="prom/alertmanager:v0.28.1"),
                    stack_monitoring=True, stack_alertmanager=True, stack_alertmanager_receiver=receiver,
                    stack_prometheus_retention_time="15d", stack_prometheus_retention_size="10GB",
                    stack_prometheus_scrape_interval="15s")
    errors = settings_errors(settings)
    assert any(message in error and "stack_alertmanager_receiver" in error for error in errors), errors
    settings["stack_alertmanager_receiver"] = {"webhook_configs": [{"url": "https://hooks.example.org/x"}]}
    assert settings_errors(settings) == []


def test_dcgm_exporter_only_on_nvidia_hosts_budgeted_by_the_plan() -> None:
    from test_planner import gpu_server
    images = dict(MONITORED, dcgm_exporter="nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04")
    cuda = resource_plan(gpu_server(), models=["qwen2.5-coder:32b-instruct-q8_0"])
    assert cuda["backend"] == "cuda" and "dcgm_exporter" in cuda["components"]
    compose = compose_project(cuda, images, monitoring=dict(MONITORING, dcgm=True))
    dcgm = compose["services"]["dcgm-exporter"]
    assert dcgm["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert dcgm["cap_add"] == ["SYS_ADMIN"] and "ports" not in dcgm
    assert to_mib(dcgm["mem_limit"], "mem_limit") == cuda["components"]["dcgm_exporter"]["mem_limit_mb"]
    jobs = {job["job_name"]: job for job in prometheus_config(cuda, "/", dcgm=True)["scrape_configs"]}
    assert jobs["gpu"]["static_configs"] == [{"targets": ["dcgm-exporter:9400"]}]
    # A CPU host: neither budgeted nor deployed nor scraped.
    cpu = llamacpp_plan()
    assert "dcgm_exporter" not in cpu["components"]
    assert "dcgm-exporter" not in compose_project(cpu, images, monitoring=dict(MONITORING, dcgm=True))["services"]
    assert "gpu" not in [job["job_name"] for job in prometheus_config(cpu, "/", dcgm=True)["scrape_configs"]]


def relabelled(job: Dict[str, Any], address: str) -> Dict[str, str]:
    """The labels Prometheus gives one target of a scrape job after its relabel_configs (the replace action, the
    only one the stack uses: source labels joined by ;, the fully anchored regex, $1 / ${1} in the replacement)."""
    labels = {"__address__": address, "job": job["job_name"], "__metrics_path__": job.get("metrics_path", "/metrics")}
    labels.update({"__param_%s" % name: values[0] for name, values in job.get("params", {}).items()})
    for rule in job.get("relabel_configs", []):
        value = ";".join(labels.get(name, "") for name in rule.get("source_labels", []))
        found = re.fullmatch(rule.get("regex", "(.*)"), value)
        if found:
            labels[rule["target_label"]] = re.sub(r"\$\{?([0-9])\}?", lambda m: found.group(int(m.group(1))) or "",
                                                  rule.get("replacement", "$1"))
    return labels


@pytest.mark.parametrize("engine, models, target, url", [
    ("llamacpp", [SMOLLM2], "llamacpp:8080", "http://llamacpp:8080/health"),
    ("mistralrs", [SMOLLM2], "mistral:1234", "http://mistral:1234/health"),
    ("ollama", ["mistral:7b-instruct-q4_K_M"], "ollama:11434", "http://ollama:11434/api/version"),
])
def test_every_engine_is_probed_at_its_own_health_endpoint(engine: str, models: Any, target: str, url: str) -> None:
    plan = resource_plan(linux(64), models=models, engine=engine)
    jobs = {job["job_name"]: job for job in prometheus_config(plan, "/", engine_probe=True)["scrape_configs"]}
    probe = jobs["engine_probe"]
    assert probe["metrics_path"] == "/probe" and probe["params"] == {"module": ["http_2xx"]}
    assert probe["static_configs"] == [{"targets": [target], "labels": {"engine": engine}}]
    labels = relabelled(probe, target)
    # Prometheus scrapes the exporter, which GETs the engine's health endpoint on the project's network.
    assert labels["__address__"] == "blackbox-exporter:9115" and labels["__param_target"] == url
    assert labels["__param_module"] == "http_2xx"
    # The engine's own address as instance: the engine job's instance too, where the engine exports metrics.
    assert labels["instance"] == target
    if "engine" in jobs:
        assert jobs["engine"]["static_configs"][0]["targets"] == [target]
    # The module the job asks for is the one the exporter's configuration defines: a GET, successful on 2xx only.
    module = yaml.safe_load(BLACKBOX_YML.read_text())["modules"][probe["params"]["module"][0]]
    assert module["prober"] == "http" and module["http"]["method"] == "GET" and "valid_status_codes" not in module["http"]
    # Without stack_engine_probe: no probe job.
    assert "engine_probe" not in [job["job_name"] for job in prometheus_config(plan, "/")["scrape_configs"]]


def test_the_blackbox_exporter_runs_on_the_backend_only_hardened_with_the_plans_limits() -> None:
    plan = llamacpp_plan()
    compose = compose_project(plan, MONITORED, monitoring=MONITORING)
    blackbox = compose["services"]["blackbox-exporter"]
    assert blackbox["image"] == "prom/blackbox-exporter:v0.26.0"
    assert blackbox["networks"] == ["backend"] and "ports" not in blackbox and "network_mode" not in blackbox
    assert blackbox["read_only"] is True and blackbox["cap_drop"] == ["ALL"] and "cap_add" not in blackbox
    assert blackbox["security_opt"] == ["no-new-privileges:true"] and blackbox["tmpfs"] == ["/tmp"]
    wanted = plan["components"]["blackbox_exporter"]
    assert to_mib(blackbox["mem_limit"], "mem_limit") == wanted["mem_limit_mb"]
    assert to_mib(blackbox["mem_reservation"], "mem_reservation") == wanted["mem_reservation_mb"]
    assert blackbox["cpus"] == wanted["cpus"]
    # Its configuration at Debian's path, from the monitoring directory, read-only; a change recreates it.
    assert blackbox["volumes"] == ["/opt/frontier-llm/prometheus/blackbox:/etc/prometheus:ro"]
    assert "--config.file=/etc/prometheus/blackbox.yml" in blackbox["command"]
    assert "--web.listen-address=0.0.0.0:9115" in blackbox["command"]
    assert blackbox["labels"]["org.frontier-llm.config"] == "abc123"
    assert "http://127.0.0.1:9115/-/healthy" in blackbox["healthcheck"]["test"][1]
    # Without monitoring, or without stack_engine_probe: no blackbox exporter (nor its image needed).
    assert "blackbox-exporter" not in compose_project(plan, MONITORED)["services"]
    unprobed = dict(MONITORING, engine_probe=False)
    assert "blackbox-exporter" not in compose_project(plan, dict(MONITORED, blackbox_exporter="x"), monitoring=unprobed)["services"]
    with pytest.raises(Exception, match="no image for the service 'blackbox_exporter'"):
        compose_project(plan, dict(IMAGES, prometheus="p:1", node_exporter="n:1"), monitoring=MONITORING)


def test_the_engine_down_alert_reads_the_probe_job_and_the_engine_job() -> None:
    rules = yaml.safe_load((ROOT / "roles/stack/files/prometheus/rules/alerts.yml").read_text())["groups"][0]["rules"]
    down = next(rule for rule in rules if rule.get("alert") == "LLMEngineDown")
    assert 'probe_success{job="%s"}' % PROBE_JOB in down["expr"] and 'up{job="engine"}' in down["expr"]
    assert down["labels"]["severity"] == "critical"
    # The blackbox exporter's own scrape is a target like the others: ScrapeTargetDown covers it.
    scrape = next(rule for rule in rules if rule.get("alert") == "ScrapeTargetDown")
    assert scrape["expr"] == 'up{job!="engine"} == 0'
