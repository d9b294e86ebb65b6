"""Issue 9 item 7: every bad input is refused with a message naming the field and the value.

Each case raised a raw Python error (ValueError, OverflowError, TypeError, KeyError) in 0.1.0, or was
accepted silently and produced a plan Docker or the engine would refuse or misread.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan
from ansible_collections.frontier.llm.plugins.module_utils.report import fleet_markdown, host_markdown
from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError
from test_planner import linux

MISTRAL = ["mistral:7b-instruct-q4_K_M"]
META = {"name": "custom", "n_layer": 32, "n_head": 32, "n_head_kv": 8, "embedding_length": 4096, "vocab_size": 32000,
        "quant": "Q4_K_M", "params": 7e9}
NODES = [{"id": 0, "cpus": "0-7", "memory_mb": 32000}, {"id": 1, "cpus": "8-15", "memory_mb": 32000}]


@pytest.mark.parametrize("call, message", [
    (lambda: resource_plan(linux(64), models=[dict(META, params=float("nan"))]), "model custom: params nan must be a number > 0"),
    (lambda: resource_plan(linux(64), models=[dict(META, params=float("inf"))]), "model custom: params inf must be a number > 0"),
    (lambda: resource_plan(linux(64, physical_cores="eight"), models=MISTRAL), "facts.frontier_llm.physical_cores: 'eight'"),
    (lambda: resource_plan(linux(64, numa_nodes=[dict(NODES[0], cpus="0-x"), NODES[1]]), models=MISTRAL),
     "facts.frontier_llm.numa_nodes[0].cpus: '0-x' is not a CPU list"),
    (lambda: resource_plan(linux(64), models=["mine"], catalog={"mine": 3}), "catalog[mine]: expected a dict of model metadata, got 3"),
    (lambda: resource_plan(linux(64), models=[dict(META, embedding_length=16)]),
     "model custom: embedding_length 16 is below n_head 32, a head size of 0"),
    (lambda: resource_plan(linux(64), models=MISTRAL, components={"nginx": {"mem_limit_mb": 4}}),
     "components.nginx: mem_limit 4 MiB is below Docker's minimum of 6 MiB"),
    (lambda: resource_plan(linux(64), models=MISTRAL, components={"nginx": {"cpus": 64}}),
     "components.nginx.cpus: 64.0 is more than the host's 16 vCPUs"),
    (lambda: resource_plan(linux(64), models=MISTRAL, keep_alive="forever"), "keep_alive: 'forever' is not a duration"),
    (lambda: resource_plan(dict(linux(64), processor_vcpus=0), models=MISTRAL), "facts.processor_vcpus: 0 must be > 0"),
    (lambda: host_markdown({"engine": "ollama"}, "h1"), "plan of h1: not a plan of frontier.llm.resource_plan (missing profile"),
    (lambda: fleet_markdown({"h1": {"x": 1}}), "plans[h1]: not a plan of frontier.llm.resource_plan"),
    (lambda: fleet_markdown(["not", "a", "dict"]), "plans: expected a dict of host -> plan, got 'list'"),
])
def test_bad_input_is_refused_naming_the_field(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(PlanError) as err:
        call()
    assert message in str(err.value)


@pytest.mark.parametrize("keep_alive", ["5m", "1h30m", "90s", "0", "-1", 300, "2.5h"])
def test_keep_alive_takes_ollamas_durations(keep_alive: Any) -> None:
    assert resource_plan(linux(64), models=MISTRAL, keep_alive=keep_alive)["settings"]["keep_alive"] == keep_alive


@pytest.mark.parametrize("service", ["ollama", "prometheus", "nginx"])
def test_a_limit_given_alone_lowers_the_reservation_for_every_service(service: str) -> None:
    # 0.1.0 clamped the engine's reservation to a lower limit but refused Prometheus's.
    plan = resource_plan(linux(64), models=MISTRAL, components={service: {"mem_limit_mb": 100}})
    assert plan["components"][service]["mem_limit_mb"] == 100
    assert plan["components"][service]["mem_reservation_mb"] <= 100


@pytest.mark.parametrize("service", ["ollama", "prometheus"])
def test_a_reservation_given_above_its_limit_is_refused_for_every_service(service: str) -> None:
    with pytest.raises(PlanError, match="components.%s: mem_reservation 200 MiB is above mem_limit 100 MiB" % service):
        resource_plan(linux(64), models=MISTRAL, components={service: {"mem_limit_mb": 100, "mem_reservation_mb": 200}})


def test_the_preflight_minimum_is_a_host_the_smallest_catalog_model_fits() -> None:
    """Issue 9 item 6: the preflight admitted 8 GiB hosts on which no catalog model fits."""
    import yaml
    from pathlib import Path
    from ansible_collections.frontier.llm.plugins.module_utils.catalog import MODELS
    defaults = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/preflight/defaults/main.yml").read_text())
    minimum = defaults["preflight_min_memory_mb"]
    smallest = min(MODELS, key=lambda tag: MODELS[tag]["file_bytes"])
    assert resource_plan(linux(minimum / 1024), models=[smallest])["fits"]
    assert not resource_plan(linux(8), models=[smallest])["fits"]


def test_a_refusal_names_what_would_fit_and_each_really_fits() -> None:
    plan = resource_plan(linux(17), models=["llama2:13b-chat-q4_K_M"])
    assert not plan["fits"]
    assert plan["suggestions"] == ["planner_ctx: 2048", "planner_kv_cache_type: q8_0 and planner_flash_attention: true",
                                   "a smaller model such as mistral:7b-instruct-q4_K_M"]
    assert "it would fit with planner_ctx: 2048" in plan["warnings"][0]
    assert resource_plan(linux(17), models=["llama2:13b-chat-q4_K_M"], ctx=2048)["fits"]
    assert resource_plan(linux(17), models=["llama2:13b-chat-q4_K_M"], kv_cache_type="q8_0", flash_attention=True)["fits"]
    assert resource_plan(linux(17), models=["mistral:7b-instruct-q4_K_M"])["fits"]


def test_a_refusal_with_nothing_smaller_says_so() -> None:
    plan = resource_plan(linux(8), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["suggestions"] == []
    assert plan["warnings"][0].endswith("no smaller context, cache or catalog model fits this host")


def test_a_native_mac_engine_threads_on_the_performance_cores() -> None:
    """Issue 9 item 5: the performance cores were gathered and unused; all 24 cores became threads."""
    from test_planner import mac_studio
    facts = mac_studio(192, cores=24)
    facts["frontier_llm"]["performance_cores"] = 16
    plan = resource_plan(facts, models=MISTRAL, runtime="native")
    assert plan["env"]["OLLAMA_NUM_THREAD"] == "16"


def test_mistralrs_native_is_refused_while_the_macos_role_runs_only_ollama() -> None:
    from test_planner import mac_studio
    with pytest.raises(PlanError, match="runtime: 'native' runs Ollama on the Mac"):
        resource_plan(mac_studio(64), models=MISTRAL, engine="mistralrs", runtime="native")


def test_a_gpu_host_keeps_the_embedding_table_in_ram() -> None:
    """Issue 9 item 3: qwen2.5-coder 32B on two 24 GB GPUs got about 1.4 GiB of RAM (runtime + 1 GiB)."""
    from test_planner import gpu_server
    from ansible_collections.frontier.llm.plugins.module_utils.units import MIB
    plan = resource_plan(gpu_server(), models=["qwen2.5-coder:32b-instruct-q8_0"], profile="medium")
    model = plan["models"][0]
    # 152,064 tokens x 5,120 values at the file's 1.06 bytes per weight (34.8 GB for 32.8 B parameters): 0.83 GB.
    embedding = 152064 * 5120 * (34.8 / 32.8)
    assert abs(model["host_side_bytes"] - embedding - 4 * (5120 * 512 + 152064 * 2)) < 1e6
    need = (150 * MIB + model["host_side_bytes"] + 1024 * MIB) * 1.2
    assert plan["components"]["ollama"]["mem_limit_mb"] * MIB >= need
    assert model["fits_gpu"]
