"""resource_plan: budgets, profiles, fit, NUMA, macOS, properties and bad input."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.frontier.llm.plugins.filter.planner import FilterModule
from ansible_collections.frontier.llm.plugins.module_utils import catalog
from ansible_collections.frontier.llm.plugins.module_utils.planner import PROFILES, resource_plan
from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError

GIB_MB = 1024


def linux(ram_gib: float, vcpus: int = 16, cores: int = 8, **ours: Any) -> Dict[str, Any]:
    """Facts of a Linux host as ansible_facts + frontier.llm.host_facts give them."""
    facts = {"memtotal_mb": int(ram_gib * GIB_MB), "processor_vcpus": vcpus, "processor_cores": cores,
             "processor_count": 1, "system": "Linux",
             "frontier_llm": {"physical_cores": cores, "numa_nodes": [], "gpus": [], "cgroup_memory_limit_mb": None}}
    facts["frontier_llm"].update(ours)
    return facts


def mac_studio(ram_gib: int = 192, cores: int = 24) -> Dict[str, Any]:
    return {"memtotal_mb": ram_gib * GIB_MB, "processor_vcpus": cores, "system": "Darwin",
            "frontier_llm": {"physical_cores": cores, "apple_silicon": True,
                             "gpu_working_set_mb": ram_gib * GIB_MB * 3 // 4, "gpus": []}}


def total_limits(plan: Dict[str, Any]) -> int:
    return sum(entry["mem_limit_mb"] for entry in plan["components"].values())


# --- the seed's tables, where the seed agrees with itself -----------------------------------

@pytest.mark.parametrize("models, ram_gib", [
    (["mistral:7b-instruct-q4_K_M"], 16),
    (["llama2:13b-chat-q4_K_M"], 32),
    (["codestral:22b-v0.1-q5_K_M"], 48),
    (["qwen2.5-coder:32b-instruct-q8_0"], 96),
    (["llama2:70b-chat-q4_K_M"], 96),
])
def test_seed_recommended_ram_fits(models: List[str], ram_gib: int) -> None:
    plan = resource_plan(linux(ram_gib), models=models)
    assert plan["fits"], plan["warnings"]
    assert total_limits(plan) <= plan["budget_mb"]


def test_seed_235b_on_a_192gb_mac_fits_only_natively() -> None:
    # The seed recommends 192 GB for qwen3 235B. In Docker Desktop's 80% VM the 142 GB file plus
    # 20% headroom does not fit; a native Ollama on Metal does.
    model = ["qwen3:235b-instruct-q4_K_M"]
    in_vm = resource_plan(mac_studio(), models=model)
    assert not in_vm["fits"] and in_vm["warnings"][0].startswith("does not fit")
    native = resource_plan(mac_studio(), models=model, runtime="native")
    assert native["fits"], native["warnings"]
    assert native["backend"] == "metal"


def test_seed_small_profile_values() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"], profile="small")
    assert plan["env"]["OLLAMA_NUM_PARALLEL"] == "4"
    assert plan["env"]["OLLAMA_MAX_LOADED_MODELS"] == "3"


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profiles_set_their_env(profile: str) -> None:
    plan = resource_plan(linux(512), models=["mistral:7b-instruct-q4_K_M"], profile=profile)
    expected = PROFILES[profile]
    assert plan["profile"] == profile
    assert plan["env"]["OLLAMA_NUM_PARALLEL"] == str(expected["parallel"])
    assert plan["env"]["OLLAMA_MAX_LOADED_MODELS"] == str(expected["max_loaded_models"])
    assert plan["env"]["OLLAMA_KEEP_ALIVE"] == expected["keep_alive"]
    assert plan["env"]["OLLAMA_FLASH_ATTENTION"] == ("true" if expected["flash_attention"] else "false")


# --- budget, components, env ------------------------------------------------------------------

def test_linux_budget_and_monitoring_defaults() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["budget_mb"] == 64 * 1024 - int(64 * 1024 * 0.10)
    assert plan["components"]["prometheus"] == {"mem_limit_mb": 2048, "mem_reservation_mb": 1024, "cpus": 1.0}
    assert plan["components"]["grafana"]["mem_limit_mb"] == 1024
    assert plan["components"]["nginx"]["mem_reservation_mb"] == 256


def test_monitoring_scales_down_with_small_budgets_continuously() -> None:
    plan = resource_plan(linux(16), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["profile"] == "low_memory"
    # A 14,746 MiB budget is 90% of the 16 GiB low-memory budget: Prometheus gets 90% of its 2048 MiB.
    assert plan["budget_mb"] == 14746
    assert plan["components"]["prometheus"]["mem_limit_mb"] == int(2048 * 14746 / 16384)
    assert plan["env"]["OLLAMA_KEEP_ALIVE"] == "1m"
    # Half at most: below half the low-memory budget the monitoring keeps half its limits.
    assert resource_plan(linux(8), models=["mistral:7b-instruct-q4_K_M"])["components"]["prometheus"]["mem_limit_mb"] == 1024


def test_cgroup_limit_lowers_the_budget() -> None:
    plan = resource_plan(linux(64, cgroup_memory_limit_mb=32 * 1024), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["budget_mb"] == 32 * 1024 - int(32 * 1024 * 0.10)


def test_engine_limit_is_resident_models_plus_headroom() -> None:
    models = ["mistral:7b-instruct-q4_K_M", "codestral:22b-v0.1-q5_K_M"]
    plan = resource_plan(linux(256), models=models, profile="small", headroom=0.25)
    resident = sum(m["total_bytes"] for m in plan["models"])
    assert plan["components"]["ollama"]["mem_limit_mb"] == -(-int(resident * 1.25) // (1024 * 1024))
    largest = max(m["total_bytes"] for m in plan["models"])
    assert plan["components"]["ollama"]["mem_reservation_mb"] == -(-largest // (1024 * 1024))


def test_max_loaded_models_keeps_only_the_largest() -> None:
    models = ["mistral:7b-instruct-q4_K_M", "codestral:22b-v0.1-q5_K_M", "deepseek-coder:33b-instruct-q4_K_M"]
    plan = resource_plan(linux(256), models=models, profile="medium")
    assert plan["resident_models"] == ["deepseek-coder:33b-instruct-q4_K_M"]


def test_auto_steps_down_until_it_fits() -> None:
    plan = resource_plan(linux(32), models=["llama2:13b-chat-q4_K_M"])
    assert plan["fits"]
    assert plan["profile"] in ("medium", "large", "low_memory")
    assert "tried small" in plan["notes"][0]


def test_does_not_fit_names_what() -> None:
    plan = resource_plan(linux(24), models=["llama2:70b-chat-q4_K_M"])
    assert plan["fits"] is False
    assert "llama2:70b-chat-q4_K_M" in plan["warnings"][0]
    assert "over the" in plan["warnings"][0]


def test_threads_are_physical_cores() -> None:
    plan = resource_plan(linux(64, vcpus=32, cores=16), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["env"]["OMP_NUM_THREADS"] == "16" == plan["env"]["OLLAMA_NUM_THREAD"]


def test_threads_fall_back_to_ansible_cores_times_sockets() -> None:
    facts = linux(64, vcpus=32, cores=8)
    facts["processor_count"] = 2
    facts["frontier_llm"]["physical_cores"] = None
    assert resource_plan(facts, models=["mistral:7b-instruct-q4_K_M"])["env"]["OMP_NUM_THREADS"] == "16"


def test_quantized_cache_in_env_only_with_flash_attention() -> None:
    on = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"], flash_attention=True, kv_cache_type="q8_0")
    off = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"], kv_cache_type="q8_0")
    assert on["env"]["OLLAMA_KV_CACHE_TYPE"] == "q8_0"
    assert off["env"]["OLLAMA_KV_CACHE_TYPE"] == "f16"
    assert any("needs flash attention" in w for w in off["warnings"])


def test_mistralrs_env_is_what_mistral_rs_reads() -> None:
    # mistral.rs reads max_seqs and the context from its TOML file (the stack's mistralrs_config), and its CPU
    # threads from rayon's RAYON_NUM_THREADS: the env holds nothing the engine would not read.
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"], engine="mistralrs")
    assert "mistral" in plan["components"]
    assert set(plan["env"]) == {"OMP_NUM_THREADS", "RAYON_NUM_THREADS"}
    assert plan["env"]["RAYON_NUM_THREADS"] == plan["env"]["OMP_NUM_THREADS"]
    assert any("max_seqs" in note for note in plan["notes"])


def test_llamacpp_env_is_what_llama_server_reads() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"], engine="llamacpp", profile="medium",
                         ctx=3000, flash_attention=True, kv_cache_type="q8_0")
    env = plan["env"]
    assert "llamacpp" in plan["components"] and "ollama" not in plan["components"]
    # -c is the context of all slots together: each of the 2 slots gets the 3000 asked for.
    assert env["LLAMA_ARG_CTX_SIZE"] == "6000" and env["LLAMA_ARG_N_PARALLEL"] == "2"
    assert env["LLAMA_ARG_FLASH_ATTN"] == "on"
    assert env["LLAMA_ARG_CACHE_TYPE_K"] == env["LLAMA_ARG_CACHE_TYPE_V"] == "q8_0"
    assert env["LLAMA_ARG_THREADS"] == env["OMP_NUM_THREADS"]
    assert not any(key.startswith(("OLLAMA_", "MISTRAL_")) for key in env)
    # llama.cpp pads each slot to 256 cells: 3000 -> 3072 cells x 2 slots.
    assert plan["models"][0]["kv_tokens"] == 3072 * 2


def test_llamacpp_without_flash_attention_keeps_an_f16_cache() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"], engine="llamacpp", kv_cache_type="q4_0")
    assert plan["env"]["LLAMA_ARG_FLASH_ATTN"] == "off"
    assert plan["env"]["LLAMA_ARG_CACHE_TYPE_K"] == "f16"


def test_llamacpp_serves_one_model() -> None:
    with pytest.raises(PlanError, match="llamacpp serves one model per server"):
        resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M", "llama2:13b-chat-q4_K_M"], engine="llamacpp")


def test_component_overrides_apply() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"],
                         components={"prometheus": {"mem_limit": "4G", "mem_reservation": "2G", "cpus": 2}})
    assert plan["components"]["prometheus"] == {"mem_limit_mb": 4096, "mem_reservation_mb": 2048, "cpus": 2.0}


def test_engine_limit_override_below_need_warns() -> None:
    plan = resource_plan(linux(64), models=["qwen2.5-coder:32b-instruct-q8_0"], components={"ollama": {"mem_limit_mb": 8192}})
    assert plan["components"]["ollama"]["mem_limit_mb"] == 8192
    assert any("below the" in w for w in plan["warnings"])


# --- GPUs, NUMA, macOS ----------------------------------------------------------------------

def gpu_server() -> Dict[str, Any]:
    gpus = [{"vendor": "nvidia", "index": i, "name": "NVIDIA GeForce RTX 3090", "memory_mb": 24576} for i in (0, 1)]
    nodes = [{"id": 0, "cpus": "0-15", "memory_mb": 128 * 1024}, {"id": 1, "cpus": "16-31", "memory_mb": 128 * 1024}]
    return linux(256, vcpus=32, cores=32, gpus=gpus, numa_nodes=nodes, usable_cpus=list(range(32)))


def test_gpu_server_keeps_only_spill_in_ram() -> None:
    plan = resource_plan(gpu_server(), models=["qwen2.5-coder:32b-instruct-q8_0"], profile="medium")
    assert plan["backend"] == "cuda"
    assert plan["host"]["vram_mb"] == 2 * 24576
    # 32 GiB of weights + 2 x 4096-token f16 cache fit in 48 GiB of VRAM: RAM keeps the runtime and buffers.
    assert plan["components"]["ollama"]["mem_limit_mb"] < 4 * 1024
    assert plan["models"][0]["fits_gpu"]


def test_gpu_spill_is_planned_in_ram_with_a_warning() -> None:
    plan = resource_plan(gpu_server(), models=["llama2:70b-chat-q4_K_M"], profile="large", ctx=4096)
    assert plan["components"]["ollama"]["mem_limit_mb"] < 16 * 1024  # 41.4 GB file: most of it fits in VRAM
    plan = resource_plan(gpu_server(), models=["qwen3:235b-a22b-q4_K_M"], profile="large")
    assert any("do not fit in" in w for w in plan["warnings"])
    assert plan["components"]["ollama"]["mem_limit_mb"] > 80 * 1024


def test_numa_pins_the_engine_to_one_node_when_it_fits() -> None:
    plan = resource_plan(gpu_server(), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["numa"]["ollama"] == {"nodes": [0], "cpuset_cpus": "0-15", "cpuset_mems": "0", "cpu_count": 16}
    assert plan["components"]["ollama"]["cpus"] <= 16


def test_numa_spans_nodes_when_one_is_too_small() -> None:
    facts = gpu_server()
    facts["frontier_llm"]["gpus"] = []
    plan = resource_plan(facts, models=["qwen3:235b-a22b-q4_K_M"], profile="large")
    assert plan["numa"]["ollama"]["cpuset_mems"] == "0,1"
    assert any("spans nodes" in w for w in plan["warnings"])


def test_single_node_has_no_numa_plan() -> None:
    assert resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])["numa"] == {}


def test_mac_docker_desktop_follows_the_seed() -> None:
    plan = resource_plan(mac_studio(), models=["llama2:70b-chat-q4_K_M"])
    desktop = plan["docker_desktop"]
    assert desktop["memory_mib"] == int(192 * 1024 * 0.8) // 1024 * 1024
    assert desktop["cpus"] == 22
    assert desktop["swap_mib"] == 4096
    assert desktop["disk_size_mib"] >= 200 * 1024
    assert any("no Metal GPU" in w for w in plan["warnings"])


def test_mac_native_vm_holds_only_monitoring() -> None:
    plan = resource_plan(mac_studio(), models=["llama2:70b-chat-q4_K_M"], runtime="native")
    monitoring = sum(v["mem_limit_mb"] for k, v in plan["components"].items() if k != "ollama")
    assert plan["docker_desktop"]["memory_mib"] >= monitoring
    assert plan["docker_desktop"]["memory_mib"] < 16 * 1024
    assert plan["components"]["ollama"]["native"] is True


def test_linux_has_no_docker_desktop() -> None:
    assert resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])["docker_desktop"] is None


# --- properties ---------------------------------------------------------------------------

MODEL_TAGS = sorted(catalog.MODELS)
host_ram = st.integers(min_value=8 * 1024, max_value=2 * 1024 * 1024)
plans = st.fixed_dictionaries({
    "models": st.lists(st.sampled_from(MODEL_TAGS), min_size=1, max_size=4, unique=True),
    "profile": st.sampled_from(["auto"] + sorted(PROFILES)),
    "headroom": st.floats(min_value=0, max_value=0.95),
    "vcpus": st.integers(min_value=1, max_value=256),
    "engine": st.sampled_from(["ollama", "mistralrs"]),
})


@settings(max_examples=300, deadline=None)
@given(plans, host_ram)
def test_invariants(case: Dict[str, Any], ram_mb: int) -> None:
    facts = linux(ram_mb / 1024, vcpus=case["vcpus"], cores=max(1, case["vcpus"] // 2))
    plan = resource_plan(facts, models=case["models"], profile=case["profile"], headroom=case["headroom"],
                         engine=case["engine"])
    for name, entry in plan["components"].items():
        assert 0 <= entry["mem_reservation_mb"] <= entry["mem_limit_mb"], name
        assert entry["cpus"] > 0, name
    if plan["fits"]:
        assert total_limits(plan) <= plan["budget_mb"]
    for model in plan["models"]:
        assert all(model[key] >= 0 for key in ("weights_bytes", "kv_bytes", "graph_bytes", "overhead_bytes"))
    assert all(int(value) > 0 for key, value in plan["env"].items() if key.endswith(("THREADS", "THREAD", "PARALLEL", "MODELS")))


@settings(max_examples=200, deadline=None)
# Small steps too: a window where more RAM refuses a plan may be a few hundred MiB wide.
@given(plans, host_ram, st.one_of(st.integers(min_value=1, max_value=4096), st.integers(min_value=1, max_value=512 * 1024)))
def test_limits_never_decrease_as_ram_grows(case: Dict[str, Any], ram_mb: int, more_mb: int) -> None:
    def plan_for(mb: int) -> Dict[str, Any]:
        return resource_plan(linux(mb / 1024, vcpus=case["vcpus"], cores=max(1, case["vcpus"] // 2)),
                             models=case["models"], profile=case["profile"], headroom=case["headroom"],
                             engine=case["engine"])
    small, large = plan_for(ram_mb), plan_for(ram_mb + more_mb)
    assert large["budget_mb"] >= small["budget_mb"]
    for name, entry in small["components"].items():
        assert large["components"][name]["mem_limit_mb"] >= entry["mem_limit_mb"], name
    assert large["fits"] or not small["fits"]


@pytest.mark.parametrize("models", [["llama2:13b-chat-q4_K_M"], ["mistral:7b-instruct-q4_K_M"],
                                    ["codestral:22b-v0.1-q5_K_M", "mistral:7b-instruct-q4_K_M"]])
@pytest.mark.parametrize("profile", ["auto"] + sorted(PROFILES))
def test_once_a_plan_fits_more_ram_never_refuses_it(models: List[str], profile: str) -> None:
    """A fine sweep of RAM (64 MiB steps, 6 to 48 GiB): fits must never go from true back to false."""
    fitted_at = None
    for ram_mb in range(6 * 1024, 48 * 1024, 64):
        fits = resource_plan(linux(ram_mb / 1024), models=models, profile=profile)["fits"]
        if fits and fitted_at is None:
            fitted_at = ram_mb
        assert fits or fitted_at is None, "fits at %d MiB, refused at %d MiB" % (fitted_at, ram_mb)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=16, max_value=512), st.sampled_from(MODEL_TAGS))
def test_mac_plans_stay_inside_the_vm(ram_gib: int, tag: str) -> None:
    plan = resource_plan(mac_studio(ram_gib), models=[tag])
    assert plan["docker_desktop"]["memory_mib"] <= ram_gib * 1024 * 0.8
    if plan["fits"]:
        assert total_limits(plan) <= plan["docker_desktop"]["memory_mib"]


refusals = st.fixed_dictionaries({
    "models": st.lists(st.sampled_from(MODEL_TAGS), min_size=1, max_size=3, unique=True),
    "profile": st.sampled_from(["auto"] + sorted(PROFILES)),
    "engine": st.sampled_from(["ollama", "mistralrs"]),
    "headroom": st.sampled_from([0, 0.2, 0.5]),
    "ctx": st.sampled_from([None, 2048, 8192]),
    # A reservation given without its limit: the one override under which a smaller profile may raise.
    "components": st.sampled_from([None, {"engine": {"mem_reservation_mb": 6000}}, {"engine": {"mem_limit": "20g"}}]),
})


@settings(max_examples=150, deadline=None)
@given(refusals, st.integers(min_value=6, max_value=96), st.sampled_from(["cpu", "gpu", "mac", "mac-native"]))
def test_suggestions_shortcuts_answer_as_the_full_search(case: Dict[str, Any], ram_gib: int, kind: str) -> None:
    """A refusal's suggestions skip models whose weights alone are over the budget, and under auto size one model for
    the last profile only: the plans are those of the search that sizes every profile of every candidate."""
    from ansible_collections.frontier.llm.plugins.module_utils import planner
    facts = {"cpu": linux(ram_gib), "gpu": linux(ram_gib, gpus=[{"vendor": "nvidia", "index": 0, "memory_mb": 8192}]),
             "mac": mac_studio(ram_gib), "mac-native": mac_studio(ram_gib)}[kind]
    arguments = dict(case, runtime="native" if kind == "mac-native" else "auto")
    if arguments["components"]:
        service = "mistral" if case["engine"] == "mistralrs" else "ollama"
        arguments["components"] = {service: arguments["components"]["engine"]}
    if kind == "mac-native" and case["engine"] != "ollama":
        arguments["engine"] = "ollama"
    try:
        plan: Any = resource_plan(facts, **arguments)
    except PlanError as err:
        plan = str(err)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(planner, "_AUTO_LAST_LEANEST", False)
        patch.setattr(planner, "_weights_alone_over", lambda *_arguments: False)
        try:
            full: Any = resource_plan(facts, **arguments)
        except PlanError as err:
            full = str(err)
    assert plan == full


def test_a_suggestion_under_a_reservation_given_alone_tries_each_profile() -> None:
    """Mistral fits an 18 GiB host under auto's small profile, whose limit holds the 6500 MiB reservation; the leaner
    profiles' limits (6103 MiB) are below it and refused, so the last profile alone cannot answer for auto."""
    plan = resource_plan(linux(18), models=["codellama:13b-code-q4_K_M"],
                         components={"ollama": {"mem_reservation_mb": 6500}})
    assert not plan["fits"]
    assert plan["suggestions"][-1] == "a smaller model such as mistral:7b-instruct-q4_K_M"


# --- bad input: a clear error naming the argument and the value ------------------------------

GOOD = {"models": ["mistral:7b-instruct-q4_K_M"]}
BAD_CASES = [
    ({"models": ["gpt-5:1t"]}, "model: unknown model tag 'gpt-5:1t'"),
    ({"models": []}, "models: [] must be a non-empty list"),
    ({"models": "mistral:7b-instruct-q4_K_M"}, "models: 'mistral:7b-instruct-q4_K_M' must be a non-empty list"),
    ({"models": [42]}, "model: 42 is neither"),
    ({"models": ["mistral:7b-instruct-q4_K_M", "mistral:7b-instruct-q4_K_M"]}, "listed more than once"),
    ({"headroom": 1.0}, "headroom: 1.0 must be a number in [0, 1)"),
    ({"headroom": -0.1}, "headroom: -0.1 must be"),
    ({"headroom": "lots"}, "headroom: 'lots' must be"),
    ({"ctx": 0}, "ctx: 0 must be > 0"),
    ({"ctx": -4096}, "ctx: -4096 must be > 0"),
    ({"ctx": "long"}, "ctx: 'long' is not a whole number"),
    ({"parallel": 0}, "parallel: 0 must be > 0"),
    ({"max_loaded_models": 0}, "max_loaded_models: 0 must be > 0"),
    ({"kv_cache_type": "q5_1"}, "kv_cache_type: 'q5_1' is unknown"),
    ({"profile": "huge"}, "profile: 'huge' is unknown"),
    ({"engine": "vllm"}, "engine: 'vllm' is unknown"),
    ({"runtime": "vm"}, "runtime: 'vm' is unknown"),
    ({"runtime": "native"}, "runtime: 'native' is for macOS hosts"),
    ({"flash_attention": "maybe"}, "flash_attention: 'maybe' is not a boolean"),
    ({"components": {"prometheus": {"mem_limit": "1G", "mem_reservation": "2G"}}},
     "components.prometheus: mem_reservation 2048 MiB is above mem_limit 1024 MiB"),
    ({"components": {"ollama": {"mem_limit_mb": 1024, "mem_reservation_mb": 4096}}},
     "components.ollama: mem_reservation 4096 MiB is above mem_limit 1024 MiB"),
    ({"components": {"grafana": {"mem_limit": "-1G"}}}, "components.grafana.mem_limit: '-1G' is negative"),
    ({"components": {"grafana": {"mem_limit": "lots"}}}, "components.grafana.mem_limit: 'lots' is not a size"),
    ({"components": {"redis": {"mem_limit": "1G"}}}, "components: unknown service 'redis'"),
    ({"components": {"nginx": {"memory": "1G"}}}, "components.nginx: unknown key(s) memory"),
    ({"components": {"nginx": {"cpus": -1}}}, "components.nginx.cpus: -1 must be a number > 0"),
    ({"models": [{"name": "x", "n_layer": 4}]}, "model x: n_head is missing"),
    ({"models": [{"n_layer": 4, "n_head": 4, "n_head_kv": 8, "embedding_length": 8, "vocab_size": 8, "file_bytes": 1}]},
     "n_head_kv 8 is more than n_head 4"),
    ({"models": [{"n_layer": -4, "n_head": 4, "embedding_length": 8, "vocab_size": 8, "file_bytes": 1}]},
     "model model: n_layer: -4 must be > 0"),
    ({"models": [{"n_layer": 4, "n_head": 4, "embedding_length": 8, "vocab_size": 8, "file_bytes": "4Q"}]},
     "file_bytes: '4Q' is not a size"),
    ({"models": [{"n_layer": 4, "n_head": 4, "embedding_length": 8, "vocab_size": 8}]}, "give file_bytes, or params and quant"),
    ({"models": [{"n_layer": 4, "n_head": 4, "embedding_length": 8, "vocab_size": 8, "params": 1e9, "quant": "Q9"}]},
     "quant 'Q9' is unknown"),
    ({"os_reserve_mb": -1}, "os_reserve_mb: -1 must be >= 0"),
    ({"catalog": ["x"]}, "catalog: expected a dict"),
]


@pytest.mark.parametrize("overrides, message", BAD_CASES, ids=[message for _case, message in BAD_CASES])
def test_bad_input(overrides: Dict[str, Any], message: str) -> None:
    kwargs = dict(GOOD, **overrides)
    with pytest.raises(PlanError) as err:
        resource_plan(linux(64), **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("facts, message", [
    ({"processor_vcpus": 4}, "facts: memtotal_mb is missing"),
    ({"memtotal_mb": -1}, "facts.memtotal_mb: -1 must be > 0"),
    ({"memtotal_mb": "lots"}, "facts.memtotal_mb: 'lots' is not a whole number"),
    ("not facts", "facts: expected a dict"),
    ({"memtotal_mb": 1024, "system": "Windows"}, "facts.system: 'Windows' is not supported"),
    ({"memtotal_mb": 65536, "frontier_llm": {"gpus": [{"vendor": "nvidia"}]}}, "facts.frontier_llm.gpus[0]"),
    ({"memtotal_mb": 900}, "leaves no memory"),
])
def test_bad_facts(facts: Any, message: str) -> None:
    with pytest.raises(PlanError) as err:
        resource_plan(facts, models=GOOD["models"], os_reserve_mb=1024 if isinstance(facts, dict) and facts.get("memtotal_mb") == 900 else None)
    assert message in str(err.value)


def test_filter_wraps_errors_and_names_the_filter() -> None:
    from ansible.errors import AnsibleFilterError
    filters = FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match=r"frontier.llm.resource_plan: headroom: 2 must be"):
        filters["resource_plan"](linux(64), models=GOOD["models"], headroom=2)
    with pytest.raises(AnsibleFilterError, match=r"frontier.llm.to_bytes: size: '1Q' is not a size"):
        filters["to_bytes"]("1Q")


def test_plan_does_not_mutate_its_inputs() -> None:
    facts, models = linux(64), [{"name": "mistral:7b-instruct-q4_K_M", "ctx": 8192}]
    # ctx 8192 is the host's too, so ollama can honour it; the model dict must come back unchanged.
    before = copy.deepcopy((facts, models))
    resource_plan(facts, models=models, ctx=8192)
    assert (facts, models) == before


def test_numa_never_pins_the_engine_outside_the_usable_cpus() -> None:
    # 0.1.0 pinned this engine to cpuset 0-11 with 12 threads: CPUs the host's cgroup does not allow.
    nodes = [{"id": 0, "cpus": "0-11", "memory_mb": 32 * 1024}, {"id": 1, "cpus": "12-23", "memory_mb": 32 * 1024}]
    facts = linux(64, vcpus=24, cores=24, numa_nodes=nodes, usable_cpus=[20, 21])
    plan = resource_plan(facts, models=["mistral:7b-instruct-q4_K_M"])
    assert plan["numa"]["ollama"] == {"nodes": [1], "cpuset_cpus": "20-21", "cpuset_mems": "1", "cpu_count": 2}
    assert plan["components"]["ollama"]["cpus"] <= 2
    assert plan["env"]["OLLAMA_NUM_THREAD"] == "2"


def test_numa_takes_the_usable_cpus_of_every_node_it_spans() -> None:
    nodes = [{"id": 0, "cpus": "0-11", "memory_mb": 8 * 1024}, {"id": 1, "cpus": "12-23", "memory_mb": 8 * 1024}]
    facts = linux(16, vcpus=24, cores=24, numa_nodes=nodes, usable_cpus=[2, 3, 20, 21])
    plan = resource_plan(facts, models=["llama2:13b-chat-q4_K_M"], profile="large")
    assert plan["numa"]["ollama"]["cpuset_cpus"] == "2-3,20-21"


def test_a_per_model_setting_ollama_cannot_honour_is_refused() -> None:
    # 0.1.0 sized this model with parallel 1 and fitted it, while OLLAMA_NUM_PARALLEL said 8.
    with pytest.raises(PlanError, match=r"model qwen2.5-coder:32b-instruct-q8_0: parallel 1 cannot be honoured: "
                                        r"ollama has one OLLAMA_NUM_PARALLEL for every model \(the plan's is 8\)"):
        resource_plan(linux(52), models=[{"name": "qwen2.5-coder:32b-instruct-q8_0", "parallel": 1}],
                      profile="high_throughput")
    with pytest.raises(PlanError, match="ctx 16384 cannot be honoured: ollama has one OLLAMA_CONTEXT_LENGTH"):
        resource_plan(linux(64), models=[{"name": "mistral:7b-instruct-q4_K_M", "ctx": 16384}])


def test_a_per_model_setting_equal_to_the_engines_is_accepted() -> None:
    plan = resource_plan(linux(64), models=[{"name": "mistral:7b-instruct-q4_K_M", "parallel": 4}], profile="small")
    assert plan["env"]["OLLAMA_NUM_PARALLEL"] == "4"


def test_llamacpp_takes_its_one_models_settings_as_the_servers() -> None:
    from test_stack import SMOLLM2
    plan = resource_plan(linux(16), models=[dict(SMOLLM2, parallel=2, ctx=1024)], engine="llamacpp", profile="small")
    assert plan["env"]["LLAMA_ARG_N_PARALLEL"] == "2"
    assert plan["env"]["LLAMA_ARG_CTX_SIZE"] == str(2 * 1024)
    assert plan["models"][0]["parallel"] == 2 and plan["models"][0]["ctx"] == 1024


# --- GPUs and NUMA: the engine sits on the node its GPUs hang off ---------------------------

def gpu_numa_server(gpu_nodes: List[int], usable_cpus: Any = None) -> Dict[str, Any]:
    """Two NUMA nodes, node 0 with three times node 1's memory, and one NVIDIA GPU per entry of gpu_nodes."""
    gpus = [{"vendor": "nvidia", "index": i, "name": "NVIDIA GeForce RTX 3090", "memory_mb": 24576,
             "pci_bus_id": "0000:%02x:00.0" % (0x3b + i), "numa_node": node} for i, node in enumerate(gpu_nodes)]
    nodes = [{"id": 0, "cpus": "0-15", "memory_mb": 192 * 1024}, {"id": 1, "cpus": "16-31", "memory_mb": 64 * 1024}]
    return linux(256, vcpus=32, cores=32, gpus=gpus, numa_nodes=nodes,
                 usable_cpus=list(range(32)) if usable_cpus is None else usable_cpus)


def test_gpu_numa_places_the_engine_on_its_gpus_node() -> None:
    # Node 0 has more memory, which alone would place the engine there, away from its GPU.
    plan = resource_plan(gpu_numa_server([1]), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["numa"]["ollama"] == {"nodes": [1], "cpuset_cpus": "16-31", "cpuset_mems": "1", "cpu_count": 16}
    assert plan["env"]["OLLAMA_NUM_THREAD"] == "16"
    assert any(note.startswith("NUMA: ollama on node 1, the node its GPUs hang off") for note in plan["notes"])


def test_gpu_numa_unknown_keeps_the_memory_rule() -> None:
    plan = resource_plan(gpu_numa_server([-1]), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["numa"]["ollama"] == {"nodes": [0], "cpuset_cpus": "0-15", "cpuset_mems": "0", "cpu_count": 16}
    assert any(note.startswith("NUMA: ollama on node 0, the node(s) with the most memory (the GPUs' NUMA node is unknown)")
               for note in plan["notes"])


def test_gpu_numa_spanning_nodes_warns() -> None:
    plan = resource_plan(gpu_numa_server([0, 1]), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["numa"]["ollama"]["nodes"] == [0, 1]
    assert plan["numa"]["ollama"]["cpuset_cpus"] == "0-31"
    assert any("GPUs hang off NUMA nodes 0,1" in warning for warning in plan["warnings"])


def test_gpu_numa_stays_within_the_usable_cpus() -> None:
    plan = resource_plan(gpu_numa_server([1], usable_cpus=[4, 5, 20, 21]), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["numa"]["ollama"] == {"nodes": [1], "cpuset_cpus": "20-21", "cpuset_mems": "1", "cpu_count": 2}
    assert plan["env"]["OLLAMA_NUM_THREAD"] == "2"


def test_gpu_numa_node_without_usable_cpus_falls_back_with_a_warning() -> None:
    plan = resource_plan(gpu_numa_server([1], usable_cpus=[4, 5]), models=["mistral:7b-instruct-q4_K_M"])
    assert plan["numa"]["ollama"] == {"nodes": [0], "cpuset_cpus": "4-5", "cpuset_mems": "0", "cpu_count": 2}
    assert any("none of its usable CPUs" in warning for warning in plan["warnings"])


def test_gpu_numa_nodes_are_ignored_on_a_cpu_plan() -> None:
    facts = gpu_numa_server([1])
    for gpu in facts["frontier_llm"]["gpus"]:
        gpu["vendor"] = "intel"  # not a backend the planner offloads to
    plan = resource_plan(facts, models=["mistral:7b-instruct-q4_K_M"])
    assert plan["backend"] == "cpu"
    assert plan["numa"]["ollama"]["nodes"] == [0]


@pytest.mark.parametrize("numa_node", ["one", 1.5, True, -2])
def test_gpu_numa_node_must_be_a_node_number(numa_node: Any) -> None:
    facts = gpu_numa_server([1])
    facts["frontier_llm"]["gpus"][0]["numa_node"] = numa_node
    with pytest.raises(PlanError, match=r"facts\.frontier_llm\.gpus\[0\]\.numa_node"):
        resource_plan(facts, models=["mistral:7b-instruct-q4_K_M"])


def test_plan_fleet_plans_offline_hosts_alone_and_names_each_refusal() -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.planner import plan_fleet
    hostvars = {
        "small": {"frontier_llm_facts": linux(16), "planner_models": ["mistral:7b-instruct-q4_K_M"]},
        "default-models": {"frontier_llm_facts": linux(64)},
        "bad-engine": {"frontier_llm_facts": linux(64), "planner_engine": "vllm"},
        "gguf": {"frontier_llm_facts": linux(64), "planner_models": [{"name": "m", "gguf": "/srv/m.gguf"}]},
        "reached": {"ansible_host": "10.0.0.5"},
    }
    defaults = {"planner_models": ["llama2:13b-chat-q4_K_M"], "planner_ctx": 2048}
    fleet = plan_fleet(hostvars, list(hostvars), defaults)
    assert sorted(fleet["plans"]) == ["default-models", "small"]
    assert fleet["plans"]["small"] == resource_plan(linux(16), models=["mistral:7b-instruct-q4_K_M"], ctx=2048)
    assert [m["name"] for m in fleet["plans"]["default-models"]["models"]] == ["llama2:13b-chat-q4_K_M"]
    assert "engine: 'vllm' is unknown" in fleet["errors"]["bad-engine"]
    assert "needs a host that is contacted" in fleet["errors"]["gguf"]
    assert "reached" not in fleet["plans"] and "reached" not in fleet["errors"]


def test_a_models_parallel_given_as_text_is_read_as_a_number() -> None:
    """llama.cpp: a model's own parallel "2" sizes and configures the engine as 2 (it once made the context size the
    text "2" repeated 4096 times)."""
    facts = {"memtotal_mb": 16384, "processor_vcpus": 4}
    as_text = resource_plan(facts, models=[{"name": "mistral:7b-instruct-q4_K_M", "parallel": "2"}], engine="llamacpp",
                            profile="small", ctx=4096)
    as_number = resource_plan(facts, models=[{"name": "mistral:7b-instruct-q4_K_M", "parallel": 2}], engine="llamacpp",
                              profile="small", ctx=4096)
    assert as_text["env"]["LLAMA_ARG_CTX_SIZE"] == as_number["env"]["LLAMA_ARG_CTX_SIZE"] == "8192"
    assert as_text == as_number
    with pytest.raises(PlanError, match="model mistral:7b-instruct-q4_K_M: parallel"):
        resource_plan(facts, models=[{"name": "mistral:7b-instruct-q4_K_M", "parallel": "two"}], engine="llamacpp")
