"""The Swarm stack (module_utils/swarm.py): placement into services, the stack file, node labels."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

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
DIGESTS = {name: "d%d" % index for index, name in enumerate(
    ["nginx/nginx.conf", "nginx/tls/cert.pem", "nginx/tls/key.pem", "nginx/keys.map", "nginx/router.js", "prometheus"])}
SETTINGS = {"config_dir": "/opt/frontier-llm", "digests": DIGESTS, "monitoring": True, "prometheus_node": "m1"}


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


def test_configs_and_secrets_are_named_after_their_digests() -> None:
    stack = swarm.stack_file(served()["services"], IMAGES, FILES, SETTINGS)
    assert stack["secrets"]["keys_map"] == {"file": "/opt/frontier-llm/nginx/keys.map", "name": "frontier-llm-keys-map-d3"}
    assert stack["secrets"]["tls_key"]["name"] == "frontier-llm-tls-key-d2"
    assert stack["configs"]["nginx_conf"]["name"] == "frontier-llm-nginx-conf-d0"
    changed = copy.deepcopy(SETTINGS)
    changed["digests"]["nginx/keys.map"] = "e9"
    assert swarm.stack_file(served()["services"], IMAGES, FILES, changed)["secrets"]["keys_map"]["name"] == \
        "frontier-llm-keys-map-e9"
    del changed["digests"]["nginx/router.js"]
    with pytest.raises(PlanError, match="no digest for nginx/router.js"):
        swarm.stack_file(served()["services"], IMAGES, FILES, changed)


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
