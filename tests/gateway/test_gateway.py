"""What each key may do through the real gateway (Nginx with njs, the role's own files) in front of a recording upstream.

Every route of each engine's real route table (``routes/<engine>.json``, read from upstream's source at the commit
it names) is sent with a user key, with the operator key and with none; the recorder shows exactly which requests
reached the engine. The recorder is a test double: no engine runs here (the genuine llama-server's own routes are
checked through the stack scenario's gateway, molecule/stack).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Set, Tuple

import pytest

from conftest import gateway, plan_for, routes_fixture, single_host_vars

ENGINES = ("ollama", "llamacpp", "mistralrs")
# Routes the issue named as reachable by any key before the allowlist: none may reach the engine with a user key.
DANGEROUS = {
    "ollama": [("POST", "/api/signout"), ("POST", "/api/me"), ("POST", "/api/experimental/web_search"),
               ("POST", "/api/experimental/web_fetch"), ("POST", "/api/pull"), ("DELETE", "/api/delete"),
               ("POST", "/api/create")],
    "llamacpp": [("GET", "/slots"), ("GET", "/props"), ("POST", "/props"), ("GET", "/metrics"),
                 ("GET", "/lora-adapters"), ("POST", "/lora-adapters"), ("POST", "/slots/0")],
    "mistralrs": [("POST", "/v1/models/unload"), ("POST", "/v1/models/reload"), ("POST", "/v1/models/tune"),
                  ("POST", "/v1/system/doctor"), ("GET", "/v1/system/info")],
}


def send_all(found: Any, table: List[Dict[str, str]], key: Any) -> Tuple[Set[Tuple[str, str]], Dict[Tuple[str, str], int]]:
    """Send every route of the table with ``key``; the (method, pattern) that reached the upstream, and each status."""
    statuses: Dict[Tuple[str, str], int] = {}
    reached: Set[Tuple[str, str]] = set()
    found.recorded()
    for route in table:
        body = {"model": "smollm2", "prompt": "hi"} if route["method"] not in ("GET", "HEAD") else None
        status, _answer = found.request(route["method"], route["path"], key=key, body=body)
        statuses[(route["method"], route["pattern"])] = status
        for entry in found.recorded():
            assert entry["authorization"] == "", "the engine must never see the client's key"
            assert entry["method"] == route["method"] and entry["path"] == route["path"]
            reached.add((route["method"], route["pattern"]))
    return reached, statuses


@pytest.mark.parametrize("engine", ENGINES)
def test_each_key_reaches_exactly_its_allowlist(engine: str, gateway_factory: Any) -> None:
    fixture = routes_fixture(engine)
    table = fixture["routes"]
    source = fixture["source"]
    assert len(table) >= 10 and (source.get("commit") or source.get("tag")), "the route table must come from upstream's source"
    found = gateway_factory(([plan_for(engine)], "frontier-ops"), single_host_vars(engine))

    anonymous, anonymous_statuses = send_all(found, table, None)
    assert anonymous == set() and set(anonymous_statuses.values()) == {401}

    expected_user = {(r["method"], r["pattern"]) for r in table if gateway.allowed(engine, r["method"], r["path"], False)}
    expected_operator = {(r["method"], r["pattern"]) for r in table if gateway.allowed(engine, r["method"], r["path"], True)}
    user, user_statuses = send_all(found, table, "alice")
    operator, operator_statuses = send_all(found, table, "frontier-ops")

    version = (source.get("commit") or source["tag"])[:12]
    print("\n%s (%s at %s): %d routes" % (engine, source["repository"], version, len(table)))
    print("%-8s %-48s %-6s %-6s" % ("method", "route", "user", "ops"))
    for route in table:
        item = (route["method"], route["pattern"])
        print("%-8s %-48s %-6s %-6s" % (item[0], item[1], "yes" if item in user else user_statuses[item],
                                        "yes" if item in operator else operator_statuses[item]))
    assert user == expected_user
    assert operator == expected_operator
    assert user < operator, "the operator key reaches every user route and more"
    for item in DANGEROUS[engine]:
        assert item not in user, "%s %s reached the engine with a user key" % item
    for item, status in user_statuses.items():
        if item not in user:
            method, pattern = item
            path = next(r["path"] for r in table if (r["method"], r["pattern"]) == item)
            assert status == (403 if gateway.allowed(engine, method, path, True) else 404), (item, status)
    # Every allowlisted route is one the engine really has: the allowlist names no route that does not exist.
    for methods, pattern, _access, _json in gateway.ROUTES[engine]:
        for method in methods:
            assert any(r["method"] == method and re.match("^%s$" % pattern, r["path"]) for r in table), \
                "%s %s is allowlisted but not in %s's route table" % (method, pattern, engine)


@pytest.fixture(scope="module")
def ollama(gateway_factory: Any) -> Any:
    return gateway_factory(([plan_for("ollama", ctx=2048)], "frontier-ops"), single_host_vars("ollama"))


def test_a_context_above_the_plan_is_refused_and_reaches_nothing(ollama: Any) -> None:
    ollama.recorded()
    status, answer = ollama.request("POST", "/api/chat", "alice",
                                    {"model": "smollm2", "messages": [], "options": {"num_ctx": 131072}})
    assert status == 400 and "options.num_ctx" in answer["error"] and "2048" in answer["error"]
    assert ollama.recorded() == []


def test_a_smaller_context_and_keep_alive_become_the_plans(ollama: Any) -> None:
    ollama.recorded()
    body = {"model": "smollm2", "prompt": "", "keep_alive": 0, "options": {"num_ctx": 512, "temperature": 0.2}}
    status, _answer = ollama.request("POST", "/api/generate", "alice", body)
    assert status == 200
    (entry,) = ollama.recorded()
    sent = json.loads(entry["body"])
    planned = plan_for("ollama", ctx=2048)["settings"]["keep_alive"]
    assert planned not in (0, "0") and sent["keep_alive"] == planned
    assert sent["options"] == {"num_ctx": 2048, "temperature": 0.2}
    assert entry["key_name"] == "alice"


def test_a_field_given_twice_reaches_the_engine_once_as_checked(ollama: Any) -> None:
    """JSON.parse keeps the last of two equal keys, a Go or Rust parser may keep the first: the engine gets the body
    written anew from what was checked, so the first value never reaches it."""
    ollama.recorded()
    raw = b'{"model": "smollm2", "prompt": "hi", "options": {"num_ctx": 131072, "num_ctx": 1024}}'
    assert ollama.request("POST", "/api/generate", "alice", raw_body=raw)[0] == 200
    (entry,) = ollama.recorded()
    assert "131072" not in entry["body"] and json.loads(entry["body"])["options"] == {"num_ctx": 2048}
    status, _answer = ollama.request("POST", "/api/generate", "alice",
                                     raw_body=b'{"model": "smollm2", "options": {"num_ctx": 1024, "num_ctx": 131072}}')
    assert status == 400 and ollama.recorded() == []


@pytest.mark.parametrize("raw", [
    b'{"model": "smollm2", "Options": {"num_ctx": 131072}}',
    b'{"model": "smollm2", "options": {"num_ctx": 1}, "OPTIONS": {"num_ctx": 131072}}',
    b'{"model": "smollm2", "prompt": "", "Keep_Alive": 0}',
    '{"model": "smollm2", "prompt": "", "\u212aeep_alive": -1}'.encode(),
    b'{"model": "smollm2", "options": {"Num_Gpu": 0}}',
])
def test_a_field_spelt_in_another_case_is_refused(ollama: Any, raw: bytes) -> None:
    """Ollama's Go decoder matches field names without regard to case (Unicode folding too): another spelling of a
    pinned field would reach it unchecked."""
    ollama.recorded()
    status, answer = ollama.request("POST", "/api/generate", "alice", raw_body=raw)
    assert status == 400 and "not a field name" in answer["error"], answer
    assert ollama.recorded() == []


def test_null_is_as_good_as_absent(ollama: Any) -> None:
    ollama.recorded()
    body = {"model": "smollm2", "prompt": "hi", "keep_alive": None, "options": {"num_ctx": None}}
    assert ollama.request("POST", "/api/generate", "alice", body)[0] == 200
    assert len(ollama.recorded()) == 1


def test_without_a_key_the_body_is_never_read(ollama: Any) -> None:
    """The 401 comes before the body: a client announcing a large body and sending none gets it at once (a gateway
    that read the body first would wait for it until its timeout)."""
    import socket
    import ssl as ssl_module

    raw = socket.create_connection(("127.0.0.1", ollama.port), timeout=5)
    with ollama.context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 900000\r\n\r\n")
        try:
            head = tls.recv(200)
        except (socket.timeout, ssl_module.SSLError) as err:
            raise AssertionError("no answer within 5 s: the gateway waited for the body (%s)" % err) from None
    assert head.startswith(b"HTTP/1.1 401"), head


def test_the_operator_key_is_exempt(ollama: Any) -> None:
    ollama.recorded()
    body = {"model": "smollm2", "prompt": "", "keep_alive": 0, "options": {"num_ctx": 131072}}
    assert ollama.request("POST", "/api/generate", "frontier-ops", body)[0] == 200
    (entry,) = ollama.recorded()
    assert json.loads(entry["body"]) == body


@pytest.mark.parametrize("option", ["num_gpu", "num_batch", "main_gpu", "use_mmap", "num_thread"])
def test_options_that_reload_the_model_are_refused(ollama: Any, option: str) -> None:
    ollama.recorded()
    status, answer = ollama.request("POST", "/api/chat", "alice", {"model": "smollm2", "options": {option: 1}})
    assert status == 400 and "options.%s" % option in answer["error"]
    assert ollama.recorded() == []


@pytest.mark.parametrize("raw", [b"not json", b"", b"[1, 2]", b'"text"', b"{\"model\": "])
def test_a_body_that_is_not_a_json_object_is_refused(ollama: Any, raw: bytes) -> None:
    ollama.recorded()
    status, answer = ollama.request("POST", "/api/chat", "alice", raw_body=raw)
    assert status == 400 and "JSON" in answer["error"]
    assert ollama.recorded() == []


@pytest.mark.parametrize("path", ["/api/chat%2F", "/api/%63hat", "/api/tags/../pull", "/api/chat/../pull",
                                  "//api/pull", "/api/pull/"])
def test_encoded_and_dotted_paths_reach_nothing(ollama: Any, path: str) -> None:
    """The raw path is checked, the form the engine receives: no spelling of a route gets around the allowlist."""
    ollama.recorded()
    status, _answer = ollama.request("POST", path, "alice", {"model": "smollm2"})
    assert status in (400, 404)
    assert ollama.recorded() == []


@pytest.mark.parametrize("field, value", [("id_slot", 0), ("lora", [{"id": 0, "scale": 1.0}]), ("n_probs", 1000),
                                          ("top_logprobs", 100000), ("logprobs", 100000), ("n", 4), ("n_cmpl", 2)])
def test_llama_server_fields_a_user_may_not_set(gateway_factory: Any, field: str, value: Any) -> None:
    found = gateway_factory(([plan_for("llamacpp")], "frontier-ops"), single_host_vars("llamacpp"))
    found.recorded()
    status, answer = found.request("POST", "/v1/chat/completions", "alice", {"model": "smollm2", field: value})
    assert status == 400 and field in answer["error"]
    assert found.recorded() == []
    for allowed_body in ({"n_probs": 5}, {"logprobs": True, "top_logprobs": 5}, {"logprobs": 3}, {"n": 1}):
        assert found.request("POST", "/v1/chat/completions", "alice", dict(allowed_body, model="smollm2"))[0] == 200
    assert len(found.recorded()) == 4


@pytest.mark.parametrize("body", [{"web_search_options": {}}, {"enable_code_execution": True},
                                  {"tools": [{"type": "code_interpreter"}]}, {"tools": [{"type": "web_search_20250305"}]},
                                  {"session_id": "abc"}, {"n": 3}])
def test_mistral_rs_server_side_features_are_refused(gateway_factory: Any, body: Dict[str, Any]) -> None:
    found = gateway_factory(([plan_for("mistralrs")], "frontier-ops"), single_host_vars("mistralrs"))
    found.recorded()
    status, answer = found.request("POST", "/v1/chat/completions", "alice", dict(body, model="smollm2"))
    assert status == 400 and list(body)[0] in answer["error"], answer
    assert found.recorded() == []
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert found.request("POST", "/v1/chat/completions", "alice", {"model": "smollm2", "tools": tools})[0] == 200


def test_requests_without_a_key_are_rate_limited_per_address(gateway_factory: Any) -> None:
    found = gateway_factory(([plan_for("llamacpp")], "frontier-ops"), single_host_vars("llamacpp"),
                            {"stack_unauthenticated_rate_limit": "1r/m", "stack_unauthenticated_burst": 2})
    statuses = [found.request("GET", "/v1/models")[0] for _attempt in range(6)]
    assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}, statuses
    # A valid key is not counted against the address.
    assert [found.request("GET", "/v1/models", "alice")[0] for _attempt in range(6)] == [200] * 6


def test_prometheus_is_the_operators(gateway_factory: Any) -> None:
    found = gateway_factory(([plan_for("llamacpp")], "frontier-ops", False, True),
                            single_host_vars("llamacpp", monitoring=True))
    assert found.request("GET", "/prometheus/api/v1/query?query=up")[0] == 401
    status, answer = found.request("GET", "/prometheus/api/v1/query?query=up", "alice")
    assert status == 403 and "operator" in answer["error"]
    # The operator's request is passed on to Prometheus, which this test does not run: 502 from Nginx.
    assert found.request("GET", "/prometheus/api/v1/query?query=up", "frontier-ops")[0] == 502


def test_the_swarm_gateway_lists_routes_and_checks_by_model(gateway_factory: Any) -> None:
    plans = [dict(plan_for("llamacpp", ctx=2048), models=[dict(plan_for("llamacpp")["models"][0], name=name)])
             for name in ("smollm2", "smollm2-second")]
    policy = (plans, "frontier-ops", True)
    routes = {name: "upstream:%d" % 8000 for name in ("smollm2", "smollm2-second")}
    found = gateway_factory(policy, {"routes": routes, "monitoring": False, "grafana": False, "gateway_log": None,
                                     "resolver_valid": "2s"})
    found.recorded()
    status, answer = found.request("GET", "/v1/models", "alice")
    assert status == 200 and [m["id"] for m in answer["data"]] == ["smollm2", "smollm2-second"]
    assert found.request("POST", "/v1/chat/completions", "alice", {"model": "smollm2-second", "messages": []})[0] == 200
    assert found.request("POST", "/v1/chat/completions", "alice", {"model": "unknown", "messages": []})[0] == 404
    assert found.request("POST", "/v1/chat/completions", "alice", {"model": "smollm2", "id_slot": 1})[0] == 400
    # Routed by the model a body names, the Swarm gateway has no engine for a bodiless route: none is listed.
    assert found.request("GET", "/slots", "frontier-ops")[0] == 404
    assert found.request("POST", "/slots/0", "alice", {"model": "smollm2"})[0] == 403
    assert [entry["path"] for entry in found.recorded()] == ["/v1/chat/completions"]
