"""The Swarm stack (module_utils/swarm.py): placement into services, the stack file, node labels."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from ansible_collections.frontier.llm.plugins.module_utils import swarm
from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError

MODEL = "mistral:7b-instruct-q4_K_M"
NODES: Dict[str, Any] = {
    "m1": {"memtotal_mb": 8192, "processor_vcpus": 2},
    "w1": {"memtotal_mb": 16384, "processor_vcpus": 8},
    "w2": {"memtotal_mb": 16384, "processor_vcpus": 4},
}
ARGS = {"profile": "small", "ctx": 4096, "parallel": 2}
IMAGES = {"llamacpp": "frontier-llm/llama-server:b11434", "nginx": "frontier-llm/nginx:1.26-debian13",
          "prometheus": "frontier-llm/prometheus:2.53-debian13", "node_exporter": "frontier-llm/node-exporter:1.9-debian13"}
FILES = {MODEL: "/srv/models/mistral.gguf"}
DIGESTS = {"prometheus": "d0"}
SETTINGS = {"config_dir": "/opt/frontier-llm", "gateway_dir": "/opt/frontier-llm/gateway", "digests": DIGESTS,
            "monitoring": True, "prometheus_node": "m1"}


def served(replicas: int = 2, **extra: Any) -> Dict[str, Any]:
    return swarm.swarm_services(NODES, [{"name": MODEL, "replicas": replicas}], ["w1", "w2"], plan_args=ARGS, **extra)


def test_replicas_go_to_different_workers_and_the_smaller_node_plans_the_service() -> None:
    result = served()
    assert result["placement"]["placements"] == {"w1": [MODEL], "w2": [MODEL]}
    service = result["services"][MODEL]
    assert (service["replicas"], service["node"], service["nodes"]) == (2, "w2", ["w1", "w2"])
    # The threads suit the 4-CPU node, the one with the fewest CPUs.
    assert int(service["plan"]["env"]["LLAMA_ARG_THREADS"]) <= 4
    assert result["routes"] == {MODEL: "engine-mistral-7b-instruct-q4-k-m:8080"}


def test_labels_carry_the_facts_and_the_placed_models() -> None:
    labels = served(replicas=1)["labels"]
    placed = [node for node in labels if "frontier.llm.model.mistral-7b-instruct-q4-k-m" in labels[node]]
    assert len(placed) == 1 and placed[0] in ("w1", "w2")
    assert labels["m1"]["frontier.llm.memory_gib"] == "8" and labels["m1"]["frontier.llm.memory_class"] == "small"
    assert labels["w1"]["frontier.llm.cpus"] == "8" and labels["w1"]["frontier.llm.gpu_vendor"] == "none"
    assert not [label for label in labels["m1"] if label.startswith(swarm.MODEL_LABEL_PREFIX)]


def test_a_model_no_node_holds_is_refused_with_the_reason() -> None:
    with pytest.raises(PlanError, match=r"no node has room for: llama2:70b-chat-q4_K_M \(replica 1\): needs 42.2G .*whole budget"):
        swarm.swarm_services(NODES, [{"name": "llama2:70b-chat-q4_K_M"}], ["w1", "w2"], plan_args=ARGS)


def test_the_previous_placement_is_kept() -> None:
    """Left alone, the replica goes to w1 (ties go by name); kept from an earlier run on w2, it stays there."""
    assert served(replicas=1)["placement"]["placements"] == {"w1": [MODEL], "w2": []}
    again = served(replicas=1, previous={"placements": {"w2": [MODEL]}})
    assert again["placement"]["placements"] == {"w1": [], "w2": [MODEL]}
    assert again["services"][MODEL]["nodes"] == ["w2"]


def test_gpu_nodes_are_planned_on_cpu() -> None:
    """The services get no GPU yet: a GPU node's engine must be sized for host memory, not for VRAM."""
    gpu = {"vendor": "nvidia", "memory_mb": 24576, "name": "RTX 4090"}
    nodes = dict(NODES, w2=dict(NODES["w2"], frontier_llm={"gpus": [gpu]}))
    with_gpu = swarm.swarm_services(nodes, [{"name": MODEL, "replicas": 2}], ["w1", "w2"], plan_args=ARGS)
    assert with_gpu["services"][MODEL]["plan"]["backend"] == "cpu"
    assert with_gpu["services"][MODEL]["plan"]["components"] == served()["services"][MODEL]["plan"]["components"]
    assert with_gpu["labels"]["w2"]["frontier.llm.gpu_vendor"] == "nvidia"


@pytest.mark.parametrize("engine", ["ollama", "mistralrs"])
def test_engines_not_built_for_swarm_are_refused(engine: str) -> None:
    with pytest.raises(PlanError, match="does not run on Swarm yet"):
        swarm.swarm_services(NODES, [MODEL], ["w1"], plan_args=dict(ARGS, engine=engine))


def test_two_models_with_one_service_name_are_refused() -> None:
    meta = {"n_layer": 2, "n_head": 2, "n_head_kv": 2, "embedding_length": 64, "vocab_size": 100,
            "context_length": 2048, "file_bytes": 10 ** 6}
    models = [dict(meta, name="tiny:a"), dict(meta, name="tiny-a")]
    with pytest.raises(PlanError, match="the same service name engine-tiny-a"):
        swarm.swarm_services(NODES, models, ["w1"], plan_args=ARGS)


@pytest.mark.parametrize("name, slug", [("smollm2-135m-instruct", "smollm2-135m-instruct"),
                                        ("Qwen2.5:0.5B_Instruct", "qwen2-5-0-5b-instruct")])
def test_model_slug(name: str, slug: str) -> None:
    assert swarm.model_slug(name) == slug


def test_a_long_name_keeps_a_short_unique_slug() -> None:
    one, two = swarm.model_slug("a" * 50 + "x"), swarm.model_slug("a" * 50 + "y")
    assert len(one) <= 40 and one != two


@pytest.mark.parametrize("name", ["../etc", "", "a b", "x" * 200, None])
def test_bad_model_names_are_refused(name: Any) -> None:
    with pytest.raises(PlanError, match="is not a model name"):
        swarm.model_slug(name)


def test_stack_file_applies_each_plan_and_publishes_only_the_gateway() -> None:
    services = served()["services"]
    stack = swarm.stack_file(services, IMAGES, FILES, SETTINGS)
    engine = stack["services"]["engine-mistral-7b-instruct-q4-k-m"]
    plan = services[MODEL]["plan"]["components"]["llamacpp"]
    assert engine["deploy"]["resources"] == {
        "limits": {"memory": "%dM" % plan["mem_limit_mb"], "cpus": str(float(plan["cpus"]))},
        "reservations": {"memory": "%dM" % plan["mem_reservation_mb"]}}
    assert engine["deploy"]["replicas"] == 2 and engine["deploy"]["endpoint_mode"] == "dnsrr"
    assert engine["deploy"]["placement"]["constraints"] == [
        "node.labels.frontier.llm.model.mistral-7b-instruct-q4-k-m == true"]
    # Two replicas on two nodes: Swarm may not put both on one node budgeted for one.
    assert engine["deploy"]["placement"]["max_replicas_per_node"] == 1
    assert engine["environment"]["LLAMA_ARG_MODEL"] == "/models/mistral.gguf"
    assert engine["environment"]["LLAMA_ARG_ALIAS"] == MODEL
    assert engine["read_only"] is True and engine["cap_drop"] == ["ALL"]
    assert {"type": "tmpfs", "target": "/tmp"} in engine["volumes"]
    for key in ("mem_limit", "restart", "security_opt", "tmpfs", "pid"):
        assert not [name for name, service in stack["services"].items() if key in service], key
    published = {name: service.get("ports") for name, service in stack["services"].items() if service.get("ports")}
    assert published == {"gateway": [{"target": 443, "published": 443, "protocol": "tcp", "mode": "host"}]}
    assert stack["services"]["prometheus"]["deploy"]["placement"]["constraints"] == ["node.hostname == m1"]
    assert stack["services"]["node-exporter"]["deploy"]["mode"] == "global"


def test_the_network_is_encrypted_unless_turned_off() -> None:
    assert swarm.stack_file(served()["services"], IMAGES, FILES, SETTINGS)["networks"]["backend"] == {
        "driver": "overlay", "driver_opts": {"encrypted": "true"}}
    plain = swarm.stack_file(served()["services"], IMAGES, FILES, dict(SETTINGS, encrypted=False))
    assert plain["networks"]["backend"] == {"driver": "overlay"}


def test_the_gateway_reads_its_files_from_each_managers_directory_not_from_configs_or_secrets() -> None:
    """Keys, certificate and routes change by a reload in the running task (deploy.yml): a Swarm config or secret
    would replace the task stop-first (its port is published in host mode) and cut every open stream."""
    stack = full_stack()
    gateway = stack["services"]["gateway"]
    assert gateway["volumes"][0] == {"type": "bind", "source": "/opt/frontier-llm/gateway", "target": "/etc/nginx/frontier",
                                     "read_only": True}
    assert "configs" not in gateway and "secrets" not in gateway
    names = [value["name"] for kind in ("configs", "secrets") for value in stack[kind].values()]
    assert not [name for name in names if "nginx" in name or "keys" in name or "tls" in name], names
    # What the gateway reads changes nothing in the stack file: a deploy leaves its task alone.
    assert swarm.stack_file(served()["services"], IMAGES, FILES, SETTINGS)["services"]["gateway"] == \
        swarm.stack_file(served()["services"], IMAGES, FILES, dict(SETTINGS, digests=dict(DIGESTS, **{
            "nginx/keys.map": "e9"})))["services"]["gateway"]
    with pytest.raises(PlanError, match="settings.gateway_dir"):
        full_stack(gateway_dir="gateway")


def test_configs_and_secrets_are_named_after_their_digests() -> None:
    stack = full_stack()
    assert stack["configs"]["mtail_program"] == {"file": "/opt/frontier-llm/prometheus/mtail/gateway.mtail",
                                                 "name": "frontier-llm-mtail-program-m1"}
    assert stack["secrets"]["grafana_admin_password"]["name"] == "frontier-llm-grafana-admin-password-g0g0g0g0g0g0"
    changed = copy.deepcopy(FULL)
    changed["digests"]["prometheus/mtail/gateway.mtail"] = "e9"
    assert swarm.stack_file(served()["services"], FULL_IMAGES, FILES, changed)["configs"]["mtail_program"]["name"] == \
        "frontier-llm-mtail-program-e9"
    del changed["digests"]["prometheus/mtail/gateway.mtail"]
    with pytest.raises(PlanError, match="no digest for prometheus/mtail/gateway.mtail"):
        swarm.stack_file(served()["services"], FULL_IMAGES, FILES, changed)


@pytest.mark.parametrize("images, files, message", [
    (dict(IMAGES, nginx="nginx:latest"), FILES, "stack_images.nginx: 'nginx:latest' is :latest"),
    (dict(IMAGES, llamacpp="llama"), FILES, "has no tag"),
    ({key: value for key, value in IMAGES.items() if key != "prometheus"}, FILES, "no image for the service 'prometheus'"),
    (IMAGES, {MODEL: "relative.gguf"}, "must be an absolute path"),
    (IMAGES, {MODEL: "/srv/models/mistral.bin"}, "needs gguf"),
    (IMAGES, {}, "needs gguf"),
])
def test_bad_stack_input_is_refused(images: Dict[str, str], files: Dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        swarm.stack_file(served()["services"], images, files, SETTINGS)


def test_prometheus_finds_the_replicas_through_swarm_dns() -> None:
    config = served()["prometheus"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["node"]["dns_sd_configs"] == [{"names": ["tasks.node-exporter"], "type": "A", "port": 9100}]
    assert jobs["engine"]["dns_sd_configs"] == [
        {"names": ["tasks.engine-mistral-7b-instruct-q4-k-m"], "type": "A", "port": 8080}]
    assert {"source_labels": ["__meta_dns_name"], "regex": r"tasks\.engine\-mistral\-7b\-instruct\-q4\-k\-m",
            "target_label": "model", "replacement": MODEL} in jobs["engine"]["relabel_configs"]


def test_dollar_signs_reach_the_services_unchanged() -> None:
    """docker stack deploy interpolates ${...} in the whole file: a literal $ is written $$."""
    stack = swarm.stack_file(served()["services"], IMAGES, FILES, SETTINGS)
    command = " ".join(stack["services"]["node-exporter"]["command"])
    assert "($$|/)" in command and "($|/)" not in command.replace("$$", "")


# The single host's Alertmanager, mtail and Grafana on Swarm (the stack role's stack_alertmanager,
# stack_gateway_metrics and stack_grafana). No Grafana image is built offline: these tests are its only check.
FULL_IMAGES = dict(IMAGES, alertmanager="frontier-llm/alertmanager:0.28-debian13", mtail="frontier-llm/mtail:3.0-debian13",
                   grafana="grafana/grafana:11.6.0")
FULL_DIGESTS = dict(DIGESTS, **{"secrets/grafana_admin_password": "g0g0g0g0g0g0g0g0", "alertmanager": "a1",
                                "prometheus/mtail/gateway.mtail": "m1", "grafana": "p1"})
GRAFANA = {"dir": "/opt/frontier-llm/grafana", "root_url": "https://m1.example/grafana/", "uid": 472}
FULL = dict(SETTINGS, digests=FULL_DIGESTS, alertmanager=True, gateway_metrics=True, grafana=GRAFANA)


def full_stack(**settings: Any) -> Dict[str, Any]:
    return swarm.stack_file(served()["services"], FULL_IMAGES, FILES, dict(FULL, **settings))


def component(name: str) -> Dict[str, Any]:
    """The plan's limits of a monitoring component as deploy.resources."""
    entry = served()["services"][MODEL]["plan"]["components"][name]
    return {"limits": {"memory": "%dM" % entry["mem_limit_mb"], "cpus": str(float(entry["cpus"]))},
            "reservations": {"memory": "%dM" % entry["mem_reservation_mb"]}}


def test_the_single_host_monitoring_services_stay_off_unless_asked() -> None:
    assert set(swarm.stack_file(served()["services"], IMAGES, FILES, SETTINGS)["services"]) == {
        "engine-mistral-7b-instruct-q4-k-m", "gateway", "prometheus", "node-exporter"}
    # Without monitoring, none of them, whatever else is asked.
    bare = full_stack(monitoring=False)
    assert set(bare["services"]) == {"engine-mistral-7b-instruct-q4-k-m", "gateway"} and "volumes" not in bare
    assert bare["services"]["gateway"]["volumes"] == [
        {"type": "bind", "source": "/opt/frontier-llm/gateway", "target": "/etc/nginx/frontier", "read_only": True},
        {"type": "tmpfs", "target": "/tmp"}]
    assert "cadvisor" not in full_stack()["services"]


def test_no_blackbox_exporter_on_swarm_the_engine_job_raises_llm_engine_down() -> None:
    """The single host's engine probe is left out of the Swarm stack, and needs no image there: LLMEngineDown reads
    each replica's metrics scrape, the engine job (alerts.yml), which every replica of llama.cpp answers."""
    assert "blackbox-exporter" not in full_stack()["services"]
    jobs = {job["job_name"]: job for job in served()["prometheus"]["scrape_configs"]}
    assert "engine_probe" not in jobs and jobs["engine"]["metrics_path"] == "/metrics"
    rules = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/stack/files/prometheus/rules/alerts.yml")
                           .read_text())["groups"][0]["rules"]
    assert 'up{job="engine"}' in next(rule["expr"] for rule in rules if rule.get("alert") == "LLMEngineDown")
    # The swarm role's check of the stack's variables turns the probe off (roles/swarm/tasks/validate.yml): the stack
    # role's default (on) must not ask a Swarm site for an image it never runs.
    from ansible_collections.frontier.llm.plugins.module_utils.stack import settings_errors
    from test_stack import good_settings
    settings = dict(good_settings(), stack_images=dict(IMAGES, ollama="o:1", llamacpp="l:1", mistral="m:1"),
                    stack_monitoring=True, stack_prometheus_retention_time="15d", stack_prometheus_retention_size="10GB",
                    stack_prometheus_scrape_interval="15s")
    assert settings_errors(dict(settings, stack_engine_probe=False)) == []
    assert settings_errors(dict(settings, stack_engine_probe=True)) == [
        "stack_images: no image for blackbox_exporter, which stack_monitoring deploys"]
    validate = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/swarm/tasks/validate.yml").read_text())
    assert any("'stack_engine_probe': false" in str(task.get("vars", {})) for task in validate)


def test_alertmanager_runs_once_where_prometheus_runs_with_its_config_and_data() -> None:
    stack = full_stack()
    service = stack["services"]["alertmanager"]
    assert service["image"] == FULL_IMAGES["alertmanager"]
    assert service["deploy"]["replicas"] == 1
    assert service["deploy"]["placement"]["constraints"] == ["node.hostname == m1"]
    assert service["deploy"]["resources"] == component("alertmanager")
    assert "/opt/frontier-llm/prometheus/alertmanager:/etc/alertmanager:ro" in service["volumes"]
    assert "alertmanager-data:/alertmanager" in service["volumes"]
    assert "alertmanager-data" in stack["volumes"]
    assert "ports" not in service and service["read_only"] is True
    # Its configuration's digest in its spec: a changed receiver recreates it.
    assert service["labels"] == {"org.frontier-llm.config": "a1"}
    changed = full_stack(digests=dict(FULL_DIGESTS, alertmanager="a2"))
    assert changed["services"]["alertmanager"]["labels"] == {"org.frontier-llm.config": "a2"}
    assert changed["services"]["prometheus"] == stack["services"]["prometheus"]


def test_mtail_runs_next_to_every_gateway_sharing_its_log_volume() -> None:
    stack = full_stack()
    mtail, gateway = stack["services"]["mtail"], stack["services"]["gateway"]
    assert mtail["deploy"]["mode"] == "global" and "replicas" not in mtail["deploy"]
    assert mtail["deploy"]["placement"] == gateway["deploy"]["placement"] == {"constraints": ["node.role == manager"]}
    assert mtail["deploy"]["resources"] == component("mtail")
    assert mtail["volumes"] == ["gateway-log:/run/frontier-gateway-log", {"type": "tmpfs", "target": "/tmp"}]
    # Its program is a Swarm config (every manager runs mtail; only the first one has the file), named by digest.
    assert mtail["configs"] == [{"source": "mtail_program", "target": "/etc/mtail/gateway.mtail"}]
    assert stack["configs"]["mtail_program"] == {"file": "/opt/frontier-llm/prometheus/mtail/gateway.mtail",
                                                 "name": "frontier-llm-mtail-program-m1"}
    assert {"type": "volume", "source": "gateway-log", "target": "/run/frontier-gateway-log"} in gateway["volumes"]
    assert "gateway-log" in stack["volumes"]
    assert mtail["labels"] == {"org.frontier-llm.config": "m1"}
    assert "ports" not in mtail
    # Without it, the gateway has no log volume.
    plain = full_stack(gateway_metrics=False)
    assert "mtail" not in plain["services"] and "gateway-log" not in plain["volumes"]
    assert not [volume for volume in plain["services"]["gateway"]["volumes"] if volume.get("source") == "gateway-log"]


def test_grafana_runs_where_its_files_are_with_its_password_a_swarm_secret() -> None:
    stack = full_stack()
    grafana = stack["services"]["grafana"]
    assert grafana["deploy"]["replicas"] == 1
    assert grafana["deploy"]["placement"]["constraints"] == ["node.hostname == m1"]
    assert grafana["deploy"]["resources"] == component("grafana")
    assert stack["secrets"]["grafana_admin_password"] == {
        "file": "/opt/frontier-llm/secrets/grafana_admin_password",
        "name": "frontier-llm-grafana-admin-password-g0g0g0g0g0g0"}
    assert grafana["secrets"] == [{"source": "grafana_admin_password", "target": "/run/secrets/grafana_admin_password",
                                   "uid": "472", "gid": "0", "mode": 0o400}]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert grafana["environment"]["GF_SERVER_ROOT_URL"] == "https://m1.example/grafana/"
    # The password is never a bind mount (nor in the environment); the provisioning is, read-only.
    assert not [volume for volume in grafana["volumes"] if "grafana_admin_password" in str(volume)]
    assert "/opt/frontier-llm/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "/opt/frontier-llm/grafana/dashboards:/var/lib/frontier-dashboards:ro" in grafana["volumes"]
    assert "grafana-data" in stack["volumes"]
    assert grafana["labels"] == {"org.frontier-llm.config": "p1"}
    assert "ports" not in grafana
    published = [name for name, service in stack["services"].items() if service.get("ports")]
    assert published == ["gateway"]
    # A new password is a new secret (the old one is removed by the role), and so a new Grafana task.
    renewed = full_stack(digests=dict(FULL_DIGESTS, **{"secrets/grafana_admin_password": "h1h1h1h1h1h1h1"}))
    assert renewed["secrets"]["grafana_admin_password"]["name"] == "frontier-llm-grafana-admin-password-h1h1h1h1h1h1"


@pytest.mark.parametrize("service, read", [("alertmanager", "alertmanager"), ("mtail", "prometheus/mtail/gateway.mtail"),
                                           ("grafana", "grafana")])
def test_each_service_needs_its_image_and_digest(service: str, read: str) -> None:
    images = {key: value for key, value in FULL_IMAGES.items() if key != service}
    with pytest.raises(PlanError, match="no image for the service %r" % service):
        swarm.stack_file(served()["services"], images, FILES, FULL)
    with pytest.raises(PlanError, match="stack_images.%s: 'x:latest' is :latest" % service):
        swarm.stack_file(served()["services"], dict(FULL_IMAGES, **{service: "x:latest"}), FILES, FULL)
    digests = {key: value for key, value in FULL_DIGESTS.items() if key != read}
    with pytest.raises(PlanError, match="no digest for %s" % read):
        full_stack(digests=digests)


def test_no_service_on_several_nodes_reads_a_file_of_the_first_manager() -> None:
    """A bind mount from the stack's directory exists only on the first manager: only a service pinned there may
    have one (every manager runs the gateway and mtail; every node node-exporter). The one exception is the
    gateway's directory, which deploy.yml writes on every manager."""
    stack = full_stack()
    for name, service in stack["services"].items():
        binds = [volume for volume in service.get("volumes", [])
                 if str(volume.get("source", "") if isinstance(volume, dict) else volume).startswith("/opt/frontier-llm")
                 and not (name == "gateway" and volume.get("source") == "/opt/frontier-llm/gateway")]
        pinned = service["deploy"].get("placement", {}).get("constraints") == ["node.hostname == m1"]
        assert pinned or not binds, (name, binds)


def test_grafana_needs_its_password_digest_and_settings() -> None:
    digests = {key: value for key, value in FULL_DIGESTS.items() if key != "secrets/grafana_admin_password"}
    with pytest.raises(PlanError, match="no digest for secrets/grafana_admin_password"):
        full_stack(digests=digests)
    with pytest.raises(PlanError, match="settings.grafana: no uid"):
        full_stack(grafana={"dir": "/opt/frontier-llm/grafana", "root_url": "https://m1/grafana/"})


def test_prometheus_alerts_alertmanager_and_scrapes_mtail_as_on_a_single_host() -> None:
    config = served(gateway_metrics=True, alertmanager=True)["prometheus"]
    assert config["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # The job name the rules and dashboards read (job="gateway"), every manager's mtail through DNS.
    assert jobs["gateway"]["dns_sd_configs"] == [{"names": ["tasks.mtail"], "type": "A", "port": 3903}]
    # One model: its name, as on a single host that serves one model.
    assert jobs["gateway"]["relabel_configs"] == [{"target_label": "engine", "replacement": "llamacpp"},
                                                  {"target_label": "model", "replacement": MODEL}]
    plain = served()["prometheus"]
    assert "alerting" not in plain and "gateway" not in [job["job_name"] for job in plain["scrape_configs"]]
    assert served(gateway_metrics=True)["gateway_log"] == "/run/frontier-gateway-log/mtail.sock"
    assert served()["gateway_log"] is None


def test_the_gateway_job_names_no_model_when_the_gateway_serves_several() -> None:
    meta = {"n_layer": 2, "n_head": 2, "n_head_kv": 2, "embedding_length": 64, "vocab_size": 100,
            "context_length": 2048, "file_bytes": 10 ** 6}
    result = swarm.swarm_services(NODES, [dict(meta, name="tiny-a"), dict(meta, name="tiny-b")], ["w1"],
                                  plan_args=ARGS, gateway_metrics=True)
    jobs = {job["job_name"]: job for job in result["prometheus"]["scrape_configs"]}
    assert jobs["gateway"]["relabel_configs"] == [{"target_label": "engine", "replacement": "llamacpp"}]


def test_the_single_host_alerting_and_gateway_labels_are_the_same_helpers() -> None:
    """One source for both stacks: the single host's prometheus.yml writes the same alerting section and labels."""
    from ansible_collections.frontier.llm.plugins.module_utils import monitoring
    plan = served()["services"][MODEL]["plan"]
    single = monitoring.prometheus_config(plan, "llamacpp", 8080, "/", gateway_metrics=True, alertmanager=True)
    assert single["alerting"] == served(alertmanager=True)["prometheus"]["alerting"]
    gateway = [job for job in single["scrape_configs"] if job["job_name"] == "gateway"][0]
    assert gateway["static_configs"][0]["labels"] == {"engine": "llamacpp", "model": MODEL}


def test_colocated_replicas_raise_the_per_node_cap_to_what_was_placed() -> None:
    """With room for only one node, place_models puts both replicas there, and the cap follows."""
    nodes = dict(NODES, w1={"memtotal_mb": 65536, "processor_vcpus": 8})
    found = swarm.swarm_services(nodes, [{"name": MODEL, "replicas": 2}], ["w1"], plan_args=ARGS)
    assert found["services"][MODEL]["max_per_node"] == 2
    stack = swarm.stack_file(found["services"], IMAGES, FILES, SETTINGS)
    assert stack["services"]["engine-mistral-7b-instruct-q4-k-m"]["deploy"]["placement"]["max_replicas_per_node"] == 2
