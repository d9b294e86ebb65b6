"""The gateway's policy document (module_utils/gateway.py) and the README's tables made from it.

What Nginx and njs do with the policy is tested with the real gateway in tests/gateway.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from ansible_collections.frontier.llm.plugins.module_utils import gateway, planner
from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError

ROOT = Path(__file__).resolve().parents[2]
FACTS = {"memtotal_mb": 16384, "processor_vcpus": 4, "system": "Linux",
         "frontier_llm": {"physical_cores": 4, "numa_nodes": [], "gpus": []}}
MODEL = {"name": "smollm2", "n_layer": 30, "n_head": 9, "n_head_kv": 3, "head_dim": 64, "embedding_length": 576,
         "vocab_size": 49152, "context_length": 8192, "file_bytes": 96550000}


def plan(engine: str, ctx: int = 2048, name: str = "smollm2") -> Dict[str, Any]:
    return planner.resource_plan(FACTS, [dict(MODEL, name=name, ctx=ctx)], engine=engine, ctx=ctx, parallel=2)


@pytest.mark.parametrize("engine", ["ollama", "llamacpp", "mistralrs"])
def test_every_route_is_anchored_and_inference_is_for_users(engine: str) -> None:
    policy = gateway.policy([plan(engine)], "frontier-ops")
    assert policy["engine"] == engine and policy["operator"] == "frontier-ops"
    assert all(route["path"].startswith("^/") and route["path"].endswith("$") for route in policy["routes"])
    users = {route["path"] for route in policy["routes"] if route["access"] == "user"}
    assert {"^/v1/chat/completions$", "^/v1/models$"} <= users
    assert not policy["route_by_model"] and not any("answer" in route for route in policy["routes"])


def test_ollama_management_is_the_operators_and_the_account_routes_are_on_no_list() -> None:
    for method, path in (("POST", "/api/pull"), ("DELETE", "/api/delete"), ("POST", "/api/blobs/sha256:abc")):
        assert gateway.allowed("ollama", method, path, operator=False) is False
        assert gateway.allowed("ollama", method, path, operator=True) is True
    for method, path in (("POST", "/api/signout"), ("POST", "/api/me"), ("DELETE", "/api/user/keys/abc"),
                         ("POST", "/api/experimental/web_search"), ("POST", "/api/delete"), ("GET", "/")):
        assert gateway.allowed("ollama", method, path, operator=True) is None


def test_the_ollama_rules_pin_context_and_residency() -> None:
    found = gateway.policy([plan("ollama", ctx=3072)], "ops")
    rules = {".".join(rule["field"]): rule for rule in found["rules"]}
    assert rules["options.num_ctx"]["kind"] == "context"
    assert rules["keep_alive"] == {"field": ["keep_alive"], "kind": "set",
                                   "value": plan("ollama", ctx=3072)["settings"]["keep_alive"]}
    assert {"options.num_gpu", "options.num_batch", "options.main_gpu", "options.use_mmap",
            "options.num_thread"} <= {name for name, rule in rules.items() if rule["kind"] == "refuse"}
    assert found["context"] == {"models": {"smollm2": 3072}, "default": 3072}
    # Only the JSON inference routes of user keys carry the rules.
    ruled = {route["path"] for route in found["routes"] if route.get("rules")}
    assert "^/api/chat$" in ruled and "^/api/pull$" not in ruled and "^/api/tags$" not in ruled


def test_the_swarm_policy_lists_every_model_with_its_context() -> None:
    plans = [plan("llamacpp", 2048, "b-model"), plan("llamacpp", 4096, "a-model")]
    found = gateway.policy(plans, "ops", models_list=True, prometheus=True)
    assert found["route_by_model"] and found["context"] == {"models": {"a-model": 4096, "b-model": 2048},
                                                            "default": 2048}
    listing = next(route for route in found["routes"] if route["path"] == "^/v1/models$")
    assert [model["id"] for model in listing["answer"]["data"]] == ["a-model", "b-model"]
    prometheus = next(route for route in found["routes"] if route.get("target") == "@frontier_prometheus")
    assert prometheus["access"] == "operator"
    # Without a body naming a model the Swarm gateway has no engine to send a request to: no such route is listed.
    assert not [route for route in found["routes"] if not route["json"] and "answer" not in route
                and route.get("target") != "@frontier_prometheus"]
    assert "^/slots$" not in {route["path"] for route in found["routes"]}


def test_only_ollama_needs_canonical_spellings() -> None:
    assert gateway.policy([plan("ollama")], "ops")["canonical_keys"] == [[], ["options"]]
    assert gateway.policy([plan("llamacpp")], "ops")["canonical_keys"] == []


@pytest.mark.parametrize("plans, operator, message", [
    ([], "ops", "no plan"),
    ([{"engine": "vllm", "settings": {"ctx": 1}, "models": []}], "ops", "no gateway allowlist"),
    ("mixed", "ops", "mix the engines"),
    ("one", 'ops"; include /etc/passwd; "', "stack_ops_key_name"),
    ("one", "Ops", "stack_ops_key_name"),
])
def test_refused_input(plans: Any, operator: str, message: str) -> None:
    if plans == "mixed":
        plans = [plan("llamacpp"), plan("ollama")]
    elif plans == "one":
        plans = [plan("llamacpp")]
    with pytest.raises(PlanError, match=message):
        gateway.policy(plans, operator)


def test_the_readme_tables_are_the_policys() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "tools"))
    import gateway_docs  # pylint: disable=import-outside-toplevel

    assert gateway_docs.current() == gateway_docs.block(), \
        "roles/stack/README.md's allowlist is stale: run .venv/bin/python tests/tools/gateway_docs.py --write"
