# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a key may do at the gateway: the engines' allowlists and the request fields a user key may not set.

Plain Python with no Ansible import. The gateway (Nginx with njs, ``roles/stack/files/nginx/router.js``) imports
the policy :func:`policy` returns as the module ``policy.js`` (:func:`policy_module`), compiled once with the
configuration by Nginx's master process (``nginx -t`` checks it); the single-host stack and the Swarm gateway write
the same document, so both enforce one definition.

- **Routes** are an allowlist per engine of ``(method, path)``: :data:`ROUTES`. A path is matched against the
  request's raw path (``$request_uri`` without its query), the form the engine receives, so an encoded or dotted
  variant of a route reaches nothing. ``user`` routes are open to every valid key, ``operator`` routes to the
  operator key alone (403 with a message for another key); anything else is 404 for every key.
- **Fields** (:data:`FIELDS`) are the request-body fields through which a user key could change what the plan
  pinned for everyone (the engine's context, its loaded models, a slot another request uses): refused (400,
  naming the field and the planned value), or replaced by the plan's value. The operator key is exempt.

The route tables were read from each engine's source; ``tests/gateway/routes/`` holds each engine's whole route
table (with the upstream commit it was read at), and ``tests/gateway`` sends every route through the rendered
gateway to a recording upstream.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError

USER = "user"
OPERATOR = "operator"

# One path segment as an engine's router takes it (a model name, a slot id, a blob digest).
_SEGMENT = "[A-Za-z0-9._:+@-]+"

# engine -> [(methods, path regex, access, json body)]. Regexes are anchored by policy(); keep them plain (njs
# compiles them with JavaScript's RegExp).
Route = Tuple[Tuple[str, ...], str, str, bool]
# The OpenAI- and Anthropic-style inference routes and the model list, as llama-server and mistral.rs both serve them.
_INFERENCE: List[Route] = [
    (("POST",), "/v1/chat/completions", USER, True),
    (("POST",), "/v1/completions", USER, True),
    (("POST",), "/v1/embeddings", USER, True),
    (("POST",), "/v1/messages", USER, True),
    (("POST",), "/v1/messages/count_tokens", USER, True),
    (("GET",), "/v1/models", USER, False),
]
ROUTES: Dict[str, List[Route]] = {
    # Ollama, server/routes.go (GenerateRoutes). Inference, the listing and the model's card for every key; the
    # model store (pull, push, create, copy, delete, blobs) for the operator. Not at all: the account and cloud
    # routes (/api/signout, /api/me, /api/user/keys, /api/experimental/web_search and web_fetch), which act under
    # the host's identity.
    "ollama": [
        (("POST",), "/api/chat", USER, True),
        (("POST",), "/api/generate", USER, True),
        (("POST",), "/api/embed", USER, True),
        (("POST",), "/api/embeddings", USER, True),
        (("GET", "HEAD"), "/api/tags", USER, False),
        (("POST",), "/api/show", USER, True),
        (("GET",), "/api/ps", USER, False),
        (("GET", "HEAD"), "/api/version", USER, False),
        (("POST",), "/v1/chat/completions", USER, True),
        (("POST",), "/v1/completions", USER, True),
        (("POST",), "/v1/embeddings", USER, True),
        (("GET",), "/v1/models", USER, False),
        (("GET",), "/v1/models/" + _SEGMENT, USER, False),
        (("POST",), "/api/pull", OPERATOR, True),
        (("POST",), "/api/push", OPERATOR, True),
        (("POST",), "/api/create", OPERATOR, True),
        (("POST",), "/api/copy", OPERATOR, True),
        (("DELETE",), "/api/delete", OPERATOR, True),
        (("HEAD", "POST"), "/api/blobs/" + _SEGMENT, OPERATOR, False),
    ],
    # llama.cpp's llama-server (tools/server/server.cpp): the OpenAI- and Anthropic-style inference routes and
    # the listing for every key; its slots, properties, metrics and LoRA adapters for the operator.
    "llamacpp": _INFERENCE + [
        (("POST",), "/tokenize", USER, True),
        (("POST",), "/detokenize", USER, True),
        (("GET",), "/health", USER, False),
        (("GET",), "/v1/health", USER, False),
        (("GET",), "/slots", OPERATOR, False),
        (("POST",), "/slots/[0-9]+", OPERATOR, True),
        (("GET", "POST"), "/props", OPERATOR, False),
        (("GET",), "/metrics", OPERATOR, False),
        (("GET", "POST"), "/lora-adapters", OPERATOR, False),
    ],
    # mistral.rs (mistralrs-server-core's router): inference and the listing for every key; unloading,
    # reloading and tuning models and the system routes for the operator.
    "mistralrs": _INFERENCE + [
        (("GET",), "/health", USER, False),
        (("GET",), "/metrics", OPERATOR, False),
        (("POST",), "/v1/models/unload", OPERATOR, True),
        (("POST",), "/v1/models/reload", OPERATOR, True),
        (("POST",), "/v1/models/status", OPERATOR, True),
        (("POST",), "/v1/models/tune", OPERATOR, True),
        (("GET",), "/v1/system/info", OPERATOR, False),
        (("POST",), "/v1/system/doctor", OPERATOR, False),
    ],
}

# Request fields a user key may not set as it likes: engine -> [(field, kind, value)]. ``context`` caps at the
# named model's planned context and otherwise sets it to that (any other value makes Ollama reload the model);
# ``plan`` replaces the value with the plan's setting; ``refuse`` refuses any value; ``max`` refuses a value
# above ``value``, ``max_or_bool`` one that is neither a boolean nor a number up to ``value``; ``tools`` refuses a
# tool whose ``type`` is not one of ``value`` (server-side tools). A field is a dotted path into the JSON body; a
# null is as good as absent.
Field = Tuple[str, str, Any]
FIELDS: Dict[str, List[Field]] = {
    # Ollama (api/types.go, server/sched.go needsReload): a different num_ctx, num_batch, num_gpu, main_gpu,
    # use_mmap or num_thread than the loaded runner's reloads the model with it, for everyone; keep_alive 0
    # unloads it, a negative one pins it.
    "ollama": [
        ("options.num_ctx", "context", None),
        ("keep_alive", "plan", "keep_alive"),
        ("options.num_batch", "refuse", None),
        ("options.num_gpu", "refuse", None),
        ("options.main_gpu", "refuse", None),
        ("options.use_mmap", "refuse", None),
        ("options.num_thread", "refuse", None),
        # A runner option after Ollama 0.13.4 (types.go): refused ahead of an upgrade.
        ("options.draft_num_predict", "refuse", None),
    ],
    # llama-server (tools/server, params_from_json): a request can pick the slot it runs in (another request's
    # cached prompt) and apply LoRA adapters to itself; n_probs returns that many candidates per token.
    # n_cmpl (alias n) runs that many completions at once, up to every slot; top_logprobs and logprobs are n_probs
    # under their OpenAI names.
    "llamacpp": [
        ("id_slot", "refuse", None),
        ("lora", "refuse", None),
        ("n_probs", "max", 20),
        ("top_logprobs", "max", 20),
        ("logprobs", "max_or_bool", 20),
        ("n_cmpl", "max", 1),
        ("n", "max", 1),
    ],
    # mistral.rs (mistralrs-server-core openai.rs, chat_completion.rs): a request can select a LoRA adapter, run
    # server-side web search, shell or code, keep agentic state on the server, and ask for n sequences at once.
    "mistralrs": [
        ("adapter", "refuse", None),
        ("web_search_options", "refuse", None),
        ("enable_shell", "refuse", None),
        ("agent_permission", "refuse", None),
        ("code_execution_permission", "refuse", None),
        ("files", "refuse", None),
        ("session_id", "refuse", None),
        ("enable_code_execution", "refuse", None),
        ("max_tool_rounds", "refuse", None),
        ("tools", "tools", ["function", "custom"]),
        ("n", "max", 1),
        ("best_of", "max", 1),
        ("top_logprobs", "max", 20),
    ],
}

# Engines whose JSON decoder matches field names without regard to case (Go's encoding/json, Unicode folding
# included): engine -> the objects (dotted paths, "" for the body) whose every key must be spelled as the engine's
# own fields are (lower case, digits, _), or "Options" or "Keep_Alive" would carry a value past the rules.
CANONICAL_KEYS: Dict[str, List[str]] = {"ollama": ["", "options"]}
CANONICAL_KEY_RE = "^[a-z0-9_]+$"


def routes(engine: str) -> List[Route]:
    """The allowlist of ``engine``; raise naming the engine when the gateway has none for it."""
    if engine not in ROUTES:
        raise PlanError("planner_engine: %r has no gateway allowlist (%s have)" % (engine, ", ".join(sorted(ROUTES))))
    return ROUTES[engine]


def allowed(engine: str, method: str, path: str, operator: bool) -> Optional[bool]:
    """What the gateway does with a request: True (passed on), False (403: the operator's route), None (404).

    The same decision the njs router makes from :func:`policy`, for the tests and the documentation.
    """
    for methods, pattern, access, _json in routes(engine):
        if method in methods and re.match("^%s$" % pattern, path):
            return operator or access == USER
    return None


def _rules(engine: str, plan_settings: Mapping[str, Any]) -> List[Dict[str, Any]]:
    rules: List[Dict[str, Any]] = []
    for field, kind, value in FIELDS[engine]:
        rule: Dict[str, Any] = {"field": field.split("."), "kind": kind}
        if kind == "plan":
            rule = {"field": field.split("."), "kind": "set", "value": plan_settings[value]}
        elif kind in ("max", "max_or_bool", "tools"):
            rule["value"] = value
        rules.append(rule)
    return rules


def policy(plans: Sequence[Mapping[str, Any]], operator: str, models_list: bool = False,
           prometheus: bool = False) -> Dict[str, Any]:
    """The gateway's policy document (``policy.js``) for the plans it serves.

    :param plans: one host's ``planner_plan``, or on Swarm each model's plan (one engine for all).
    :param operator: the operator key's name (``stack_ops_key_name``).
    :param models_list: answer ``GET /v1/models`` at the gateway from the plans' models (the Swarm gateway, whose
        engines each know only their own model), instead of passing it on.
    """
    if not plans:
        raise PlanError("gateway: no plan to serve")
    engines = sorted({str(plan.get("engine")) for plan in plans})
    if len(engines) != 1:
        raise PlanError("gateway: the plans mix the engines %s; one gateway serves one engine" % ", ".join(engines))
    engine = engines[0]
    if not isinstance(operator, str) or not re.match(r"^[a-z0-9][a-z0-9_-]{0,31}\Z", operator):
        raise PlanError("stack_ops_key_name: %r must be 1-32 of a-z 0-9 _ - starting with a letter or digit" % (operator,))
    table_source = routes(engine)
    rules = _rules(engine, plans[0]["settings"])
    contexts: Dict[str, int] = {}
    for plan in plans:
        for model in plan.get("models", []):
            if model.get("name"):
                contexts[str(model["name"])] = int(model["ctx"])
    table: List[Dict[str, Any]] = []
    names = sorted(contexts)
    for methods, pattern, access, json_body in table_source:
        if models_list and not json_body and pattern != "/v1/models":
            # Routed by the model a body names, the Swarm gateway has no engine for a request without one.
            continue
        entry: Dict[str, Any] = {"methods": list(methods), "path": "^%s$" % pattern, "access": access,
                                 "json": json_body}
        if json_body and access == USER and rules:
            entry["rules"] = True
        if models_list and pattern == "/v1/models":
            entry["answer"] = {"object": "list", "data": [
                {"id": name, "object": "model", "owned_by": "frontier-llm"} for name in names]}
        table.append(entry)
    if prometheus:
        # Prometheus shows every host figure and key name: the operator's.
        table.append({"methods": ["GET", "HEAD", "POST"], "path": "^/prometheus/[^?]*$", "access": OPERATOR,
                      "json": False, "target": "@frontier_prometheus"})
    return {
        "engine": engine,
        "operator": operator,
        "routes": table,
        "rules": rules,
        "canonical_keys": [[part for part in place.split(".") if part] for place in CANONICAL_KEYS.get(engine, [])],
        "canonical_key": CANONICAL_KEY_RE,
        # The smallest planned context stands for a model the plans do not name (the engine refuses it anyway).
        "context": {"models": contexts, "default": min(contexts.values()) if contexts else int(plans[0]["settings"]["ctx"])},
        "route_by_model": bool(models_list),
    }


def policy_module(plans: Sequence[Mapping[str, Any]], operator: str, models_list: bool = False,
                  prometheus: bool = False) -> str:
    """:func:`policy` as the njs module ``policy.js`` that router.js imports (its default export)."""
    document = json.dumps(policy(plans, operator, models_list, prometheus), indent=2, sort_keys=True)
    return "// Written by frontier.llm from module_utils/gateway.py; edits are overwritten.\nexport default %s;\n" % document
