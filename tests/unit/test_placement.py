"""place_models (issue 13, Swarm scale-out): model replicas onto nodes within each node's budget."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List, Mapping

import jinja2
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.frontier.llm.plugins.filter.planner import FilterModule
from ansible_collections.frontier.llm.plugins.module_utils.placement import place_models
from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan
from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError, model_memory
from ansible_collections.frontier.llm.plugins.module_utils.units import GIB, MIB
from test_planner import linux, mac_studio

ROOT = Path(__file__).resolve().parents[2]
MISTRAL = "mistral:7b-instruct-q4_K_M"


def node(name: str, gib: float) -> Dict[str, Any]:
    return {"name": name, "budget_bytes": int(gib * GIB)}


def model(name: str, gib: float, replicas: int = 1) -> Dict[str, Any]:
    return {"name": name, "bytes": int(gib * GIB), "replicas": replicas}


# --- examples ---------------------------------------------------------------------------------

def test_replicas_spread_largest_first_onto_the_node_with_most_room() -> None:
    result = place_models([node("a", 40), node("b", 24), node("c", 24)], [model("big", 20, 2), model("small", 5, 3)])
    # big: a (40 free), then b (24, before c by name); small: c (24), a (20), b (4 < 5: not b) -> a has one: c.
    assert result["placements"] == {"a": ["big", "small"], "b": ["big"], "c": ["small", "small"]}
    assert result["colocated"] == [{"model": "small", "node": "c", "replicas": 2}]
    assert result["free_bytes"] == {"a": 15 * GIB, "b": 4 * GIB, "c": 14 * GIB}
    assert result["unplaced"] == [] and result["dropped"] == []


def test_a_replica_is_colocated_only_when_no_other_node_has_room() -> None:
    result = place_models([node("a", 30), node("b", 10)], [model("m", 12, 2)])
    assert result["placements"] == {"a": ["m", "m"], "b": []}
    assert result["colocated"] == [{"model": "m", "node": "a", "replicas": 2}]
    spread = place_models([node("a", 30), node("b", 12)], [model("m", 12, 2)])
    assert spread["placements"] == {"a": ["m"], "b": ["m"]} and spread["colocated"] == []


def test_unplaced_replicas_say_why() -> None:
    result = place_models([node("a", 16), node("b", 8)], [model("huge", 20), model("mid", 10, 3)])
    assert result["placements"] == {"a": ["mid"], "b": []}
    assert result["unplaced"] == [
        {"model": "huge", "replica": 1, "bytes": 20 * GIB,
         "reason": "needs 20G (21474836480 bytes), more than any node's whole budget (the largest: 16G (17179869184 bytes) on a)"},
        {"model": "mid", "replica": 2, "bytes": 10 * GIB,
         "reason": "needs 10G (10737418240 bytes); the largest free budget left is 8G (8589934592 bytes) on b"},
        {"model": "mid", "replica": 3, "bytes": 10 * GIB,
         "reason": "needs 10G (10737418240 bytes); the largest free budget left is 8G (8589934592 bytes) on b"},
    ]
    assert place_models([], [model("m", 1)])["unplaced"][0]["reason"] == "needs 1G (1073741824 bytes); there are no nodes"


def test_sizes_read_docker_spellings_and_catalog_models_are_sized_like_the_planner() -> None:
    result = place_models([{"name": "a", "budget_bytes": "64G"}],
                          [MISTRAL, {"name": "llama2:13b-chat-q4_K_M", "ctx": 8192, "parallel": 2}, {"name": "x", "bytes": "1.5G"}])
    assert result["budget_bytes"] == {"a": 64 * GIB}
    assert result["model_bytes"][MISTRAL] == model_memory(MISTRAL)["total_bytes"]
    assert result["model_bytes"]["llama2:13b-chat-q4_K_M"] == model_memory("llama2:13b-chat-q4_K_M", ctx=8192, parallel=2)["total_bytes"]
    assert result["model_bytes"]["x"] == int(1.5 * GIB)


@pytest.mark.parametrize("facts, runtime", [(linux(64), "auto"), (linux(16), "auto"), (mac_studio(192), "native")])
def test_a_nodes_plan_gives_what_it_leaves_the_engine_less_headroom(facts: Dict[str, Any], runtime: str) -> None:
    plan = resource_plan(facts, models=[MISTRAL], runtime=runtime)
    engine = plan["components"]["ollama"]["mem_limit_mb"]
    room = plan["budget_mb"] - (plan["used_mb"] - engine)
    budget = place_models([{"name": "h", "plan": plan}], [MISTRAL])["budget_bytes"]["h"]
    assert budget == int(room * MIB // 1.2)
    # Models filling that budget, with the plan's headroom, make an engine limit the host's budget holds.
    assert budget * 1.2 <= room * MIB


def test_the_plan_derived_budget_admits_what_resource_plan_fits() -> None:
    # A host whose plan fits these models: placement on that host's plan places them too.
    models = [MISTRAL, "llama2:13b-chat-q4_K_M"]
    plan = resource_plan(linux(64), models=models, profile="small")
    assert plan["fits"] and plan["resident_models"] == sorted(models, key=lambda m: -model_memory(m)["total_bytes"])
    result = place_models([{"name": "h", "plan": plan}],
                          [{"name": m, "ctx": plan["settings"]["ctx"], "parallel": plan["settings"]["parallel"]} for m in models])
    assert result["unplaced"] == []


# --- previous, stability, rebalance -------------------------------------------------------------

def test_a_new_node_takes_new_replicas_and_nothing_moves() -> None:
    nodes = [node("a", 40), node("b", 24)]
    first = place_models(nodes, [model("big", 20, 2), model("small", 5, 3)])
    assert first["colocated"] == [{"model": "small", "node": "a", "replicas": 3}]
    second = place_models(nodes + [node("c", 64)], [model("big", 20, 3), model("small", 5, 3)], previous=first)
    assert {name: second["placements"][name] for name in ("a", "b")} == first["placements"]
    assert second["placements"]["c"] == ["big"]
    assert second["dropped"] == []
    # Asked to rebalance, the smalls spread as far as room allows (b keeps 4 GiB: too little for one).
    moved = place_models(nodes + [node("c", 64)], [model("big", 20, 3), model("small", 5, 3)], previous=first, rebalance=True)
    assert moved["placements"] == {"a": ["big", "small"], "b": ["big"], "c": ["big", "small", "small"]}
    assert moved["colocated"] == [{"model": "small", "node": "c", "replicas": 2}]
    assert moved["dropped"] == [{"model": "small", "node": "a", "reason": "moved by rebalance"}] * 2


def test_previous_assignments_that_no_longer_hold_are_dropped_with_the_reason() -> None:
    first = place_models([node("a", 40), node("b", 40)], [model("m", 20, 2), model("gone", 1), model("s", 10)])
    assert first["placements"] == {"a": ["m", "s"], "b": ["m", "gone"]}
    # b shrank to 15 GiB, m now has one replica, gone is no longer served.
    second = place_models([node("a", 40), node("b", 15)], [model("m", 20, 1), model("s", 10)], previous=first)
    assert second["placements"] == {"a": ["m", "s"], "b": []}
    assert second["dropped"] == [{"model": "gone", "node": "b", "reason": "no longer in models"},
                                 {"model": "m", "node": "b", "reason": "replicas lowered to 1"}]
    third = place_models([node("a", 25), node("b", 15)], [model("m", 20, 1), model("s", 10)], previous=first)
    assert third["placements"] == {"a": ["m"], "b": ["s"]}
    assert {"model": "s", "node": "a", "reason": "no longer fits: needs 10G (10737418240 bytes), 5G (5368709120 bytes) free"} \
        in third["dropped"]


def test_previous_may_be_the_placements_alone() -> None:
    first = place_models([node("a", 40), node("b", 40)], [model("m", 20, 2)])
    assert place_models([node("a", 40), node("b", 40)], [model("m", 20, 2)], previous=first["placements"]) == first


# --- bad input ----------------------------------------------------------------------------------

PLAN = resource_plan(linux(64), models=[MISTRAL])
BAD = [
    ({"nodes": "a"}, "nodes: expected a list of nodes"),
    ({"nodes": [node("a", 1), node("a", 2)]}, "nodes[1] (a).name: node 'a' is listed more than once"),
    ({"nodes": [{"name": "a"}]}, "nodes[0] (a): give exactly one of budget_bytes and plan"),
    ({"nodes": [{"name": "a", "budget_bytes": 1, "plan": PLAN}]}, "nodes[0] (a): give exactly one of budget_bytes and plan"),
    ({"nodes": [{"name": "a", "budget_bytes": -1}]}, "nodes[0] (a).budget_bytes: -1 is negative"),
    ({"nodes": [{"name": "a", "budget_bytes": "lots"}]}, "nodes[0] (a).budget_bytes: 'lots' is not a size"),
    ({"nodes": [{"name": "", "budget_bytes": 1}]}, "nodes[0].name: '' is not a non-empty string"),
    ({"nodes": [{"budget_bytes": 1}]}, "nodes[0].name: None is not a non-empty string"),
    ({"nodes": [{"name": "a", "budget": 1}]}, "nodes[0] (a): unknown key(s) budget"),
    ({"nodes": [dict(node("a", 1), labels=["gpu"])]}, "nodes[0] (a).labels: ['gpu'] is not a dict of strings"),
    ({"nodes": [{"name": "a", "plan": {"engine": "ollama"}}]}, "nodes[0] (a).plan: not a plan of frontier.llm.resource_plan"),
    ({"nodes": [{"name": "a", "plan": dict(PLAN, engine="vllm")}]}, "nodes[0] (a).plan: the plan's engine 'vllm' has no entry"),
    ({"nodes": [{"name": "a", "plan": dict(PLAN, headroom=2)}]}, "nodes[0] (a).plan.headroom: 2 must be a number in [0, 1)"),
    ({"models": {"m": 1}}, "models: expected a list of models"),
    ({"models": [model("m", 1, 0)]}, "models[0] (m).replicas: 0 must be > 0"),
    ({"models": [model("m", 1, -2)]}, "models[0] (m).replicas: -2 must be > 0"),
    ({"models": [dict(model("m", 1), replicas=1.5)]}, "models[0] (m).replicas: 1.5 is not a whole number"),
    ({"models": [dict(model("m", 1), replicas=True)]}, "models[0] (m).replicas: True is a boolean"),
    ({"models": [{"name": "m", "bytes": -5}]}, "models[0] (m).bytes: -5 is negative"),
    ({"models": [{"name": "m", "bytes": 0}]}, "models[0] (m).bytes: 0 must be > 0"),
    ({"models": [{"bytes": 5}]}, "models[0] (None).name: missing"),
    ({"models": [{"name": "m", "bytes": 5, "ctx": 8192}]}, "models[0] (m): bytes is the size; ctx would size it again"),
    ({"models": [model("m", 1), model("m", 2)]}, "models[1] (m): model 'm' is listed more than once; give it replicas"),
    ({"models": [42]}, "models[0]: 42 is neither a catalog tag nor a dict"),
    ({"models": ["gpt-5:1t"]}, "model: unknown model tag 'gpt-5:1t'"),
    ({"previous": {"z": ["m"]}}, "previous: node 'z' is not one of the nodes (a); drop it from previous"),
    ({"previous": {"a": "m"}}, "previous[a]: 'm' is not a list of model names"),
    ({"previous": ["a"]}, "previous: expected a result of frontier.llm.place_models"),
    ({"rebalance": "maybe"}, "rebalance: 'maybe' is not a boolean"),
    ({"catalog": ["x"]}, "catalog: expected a dict"),
]


@pytest.mark.parametrize("overrides, message", BAD, ids=[message for _case, message in BAD])
def test_bad_input_is_refused_naming_the_field(overrides: Dict[str, Any], message: str) -> None:
    kwargs = dict({"nodes": [node("a", 8)], "models": [model("m", 1)]}, **overrides)
    with pytest.raises(PlanError) as err:
        place_models(**kwargs)
    assert message in str(err.value)


def test_inputs_are_not_mutated() -> None:
    nodes, models = [node("a", 8)], [model("m", 1, 2), {"name": MISTRAL, "ctx": 2048, "replicas": 2}]
    previous = {"placements": {"a": ["m"]}}
    before = copy.deepcopy((nodes, models, previous))
    place_models(nodes, models, previous=previous)
    assert (nodes, models, previous) == before


# --- the filter and its documentation -----------------------------------------------------------

def test_the_filter_names_itself_in_errors() -> None:
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match=r"frontier.llm.place_models: models\[0\] \(m\).replicas: 0 must be > 0"):
        FilterModule().filters()["place_models"]([node("a", 8)], [model("m", 1, 0)])


def test_the_documented_examples_run() -> None:
    from jinja2.nativetypes import NativeEnvironment
    docs = yaml.safe_load((ROOT / "plugins/filter/place_models.yml").read_text())
    assert docs["DOCUMENTATION"]["name"] == "place_models"
    examples = yaml.safe_load(docs["EXAMPLES"])
    environment = NativeEnvironment(undefined=jinja2.StrictUndefined)
    environment.filters.update({"frontier.llm." + name: function for name, function in FilterModule().filters().items()})
    context: Dict[str, Any] = {
        "ansible_play_hosts": ["h1", "h2"],
        "hostvars": {"h1": {"planner_plan": resource_plan(linux(32), models=[MISTRAL])},
                     "h2": {"planner_plan": resource_plan(linux(64), models=[MISTRAL])}},
    }
    for key, template in examples.items():
        context[key] = environment.from_string(template).render(**context)
    assert context["placement"]["placements"] == {"a": ["big", MISTRAL], "b": ["big"]}
    assert context["grown"]["placements"] == {"a": ["big", MISTRAL], "b": ["big"], "c": ["big"]}
    assert context["from_plans"]["unplaced"] == []
    assert context["from_plans"]["placements"] == {"h1": ["llama2:13b-chat-q4_K_M"], "h2": ["llama2:13b-chat-q4_K_M", MISTRAL]}


# --- properties ---------------------------------------------------------------------------------

NODE_NAMES = ["n%d" % i for i in range(7)]
MODEL_NAMES = ["m%d" % i for i in range(7)]
nodes_st = st.lists(st.sampled_from(NODE_NAMES), unique=True, max_size=6).flatmap(
    lambda names: st.tuples(*[st.builds(lambda n, b: {"name": n, "budget_bytes": b}, st.just(n), st.integers(0, 100))
                              for n in names]).map(list))
models_st = st.lists(st.sampled_from(MODEL_NAMES), unique=True, min_size=1, max_size=6).flatmap(
    lambda names: st.tuples(*[st.builds(lambda n, b, r: {"name": n, "bytes": b, "replicas": r}, st.just(n),
                                        st.integers(1, 60), st.integers(1, 4)) for n in names]).map(list))


def later(result: Mapping[str, Any], node_name: str, size: int, name: str) -> int:
    """Bytes on ``node_name`` of models placed after the model (size, name) in the greedy order."""
    sizes = result["model_bytes"]
    return sum(sizes[m] for m in result["placements"][node_name] if (-sizes[m], m) > (-size, name))


@settings(max_examples=400, deadline=None)
@given(nodes_st, models_st)
def test_no_node_is_over_budget_and_every_replica_is_accounted_for(nodes: List[Dict[str, Any]],
                                                                   models: List[Dict[str, Any]]) -> None:
    result = place_models(nodes, models)
    for entry in nodes:
        held = sum(result["model_bytes"][m] for m in result["placements"][entry["name"]])
        assert result["free_bytes"][entry["name"]] >= 0
        assert held + result["free_bytes"][entry["name"]] == entry["budget_bytes"]
    for entry in models:
        placed = sum(names.count(entry["name"]) for names in result["placements"].values())
        unplaced = [u["replica"] for u in result["unplaced"] if u["model"] == entry["name"]]
        assert placed + len(unplaced) == entry["replicas"]
        assert unplaced == list(range(placed + 1, entry["replicas"] + 1))


@settings(max_examples=400, deadline=None)
@given(nodes_st, models_st)
def test_a_replica_is_unplaced_only_when_no_node_had_room_at_its_turn(
        nodes: List[Dict[str, Any]], models: List[Dict[str, Any]]) -> None:
    result = place_models(nodes, models)
    for entry in result["unplaced"]:
        size = entry["bytes"]
        for name in result["placements"]:
            # Free at its turn: the final free budget plus what went there after it (free only shrinks).
            assert result["free_bytes"][name] + later(result, name, size, entry["model"]) < size, (entry, name)
        assert all(size > free for free in result["free_bytes"].values())


@settings(max_examples=400, deadline=None)
@given(nodes_st, models_st)
def test_replicas_share_a_node_only_when_no_other_node_had_room(
        nodes: List[Dict[str, Any]], models: List[Dict[str, Any]]) -> None:
    result = place_models(nodes, models)
    for entry in result["colocated"]:
        size = result["model_bytes"][entry["model"]]
        for name, names in result["placements"].items():
            if entry["model"] not in names:
                assert result["free_bytes"][name] + later(result, name, size, entry["model"]) < size, (entry, name)


@settings(max_examples=300, deadline=None)
@given(nodes_st, models_st, st.lists(st.integers(0, 100), min_size=1, max_size=3), models_st)
def test_adding_nodes_moves_nothing_unless_asked(nodes: List[Dict[str, Any]], models: List[Dict[str, Any]],
                                                 extra: List[int], more: List[Dict[str, Any]]) -> None:
    first = place_models(nodes, models)
    grown = nodes + [{"name": "new%d" % i, "budget_bytes": budget} for i, budget in enumerate(extra)]
    second = place_models(grown, models, previous=first)
    assert {entry["name"]: second["placements"][entry["name"]] for entry in nodes} == first["placements"]
    assert second["dropped"] == []
    # More models (new ones, and more replicas of the old): the old nodes keep every model they had.
    listed = {entry["name"]: entry for entry in models}
    for entry in more:
        if entry["name"] in listed:
            listed[entry["name"]] = dict(listed[entry["name"]], replicas=listed[entry["name"]]["replicas"] + entry["replicas"])
        else:
            listed[entry["name"]] = entry
    third = place_models(grown, list(listed.values()), previous=first)
    for entry in nodes:
        now = list(third["placements"][entry["name"]])
        for name in first["placements"][entry["name"]]:
            now.remove(name)  # raises when a replica moved away
    # Re-running on its own result changes nothing; rebalance ignores previous.
    assert place_models(grown, models, previous=second) == second
    fresh = place_models(grown, models)
    assert place_models(grown, models, previous=second, rebalance=True)["placements"] == fresh["placements"]


@settings(max_examples=300, deadline=None)
@given(nodes_st, models_st, st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_input_order(
        nodes: List[Dict[str, Any]], models: List[Dict[str, Any]], rng: Any) -> None:
    result = place_models(nodes, models)
    shuffled_nodes, shuffled_models = list(nodes), list(models)
    rng.shuffle(shuffled_nodes)
    rng.shuffle(shuffled_models)
    assert place_models(shuffled_nodes, shuffled_models) == result
