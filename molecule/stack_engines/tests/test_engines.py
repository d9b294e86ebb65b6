"""Verify the stack with the genuine llama-server: real completions, and the planner against llama.cpp."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / ".collections"))
from ansible_collections.frontier.llm.plugins.module_utils.sizing import model_memory  # noqa: E402

# The llama.cpp host; tests/test_mistralrs.py checks the mistral.rs one.
testinfra_hosts = ["ansible://frontier-engines13"]

ROOT = "/opt/frontier-llm"
MODEL = "smollm2-135m-instruct"
MODEL_FILE = "/srv/frontier-models/SmolLM2-135M-Instruct.Q4_1.gguf"
MIB = 1024 * 1024
CA = "--cacert %s/nginx/tls/cert.pem" % ROOT


def plan(host) -> dict:
    return json.loads(host.file(ROOT + "/plan.json").content_string)


def alice(host) -> str:
    return json.loads(host.check_output("cat %s/secrets/api_keys.json" % ROOT))["alice"]["key"]


def chat(host, stream: bool) -> str:
    body = json.dumps({"model": MODEL, "stream": stream, "max_tokens": 24, "temperature": 0,
                       "messages": [{"role": "user", "content": "What is the capital of France?"}]})
    out = host.run("curl -sS -N %s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '%s' "
                   "https://127.0.0.1/v1/chat/completions" % (CA, alice(host), body))
    assert out.rc == 0, out.stderr
    return out.stdout


def test_a_real_completion_through_nginx(host) -> None:
    answer = json.loads(chat(host, stream=False))
    text = answer["choices"][0]["message"]["content"]
    print("SmolLM2 answered: %r" % text)
    assert answer["usage"]["completion_tokens"] > 0 and text.strip()
    assert answer["model"] == MODEL


def test_streamed_completion_in_several_chunks(host) -> None:
    chunks = [line[6:] for line in chat(host, stream=True).splitlines() if line.startswith("data: ")]
    assert chunks[-1] == "[DONE]"
    words = [json.loads(chunk)["choices"][0]["delta"].get("content") for chunk in chunks[:-1]
             if json.loads(chunk)["choices"]]
    assert len([word for word in words if word]) >= 3, chunks


def test_engine_runs_with_the_plans_settings(host) -> None:
    name = host.check_output("docker compose -p frontier-llm ps -q llamacpp")
    state = json.loads(host.check_output("docker inspect %s" % name))[0]
    env = dict(item.split("=", 1) for item in state["Config"]["Env"])
    wanted = plan(host)
    for key, value in wanted["env"].items():
        assert env.get(key) == value, key
    assert state["HostConfig"]["Memory"] == wanted["components"]["llamacpp"]["mem_limit_mb"] * MIB
    # llama-server itself reports the context the plan asked for, per slot.
    props = json.loads(host.check_output(
        "curl -sS %s -H 'Authorization: Bearer %s' https://127.0.0.1/v1/models" % (CA, alice(host))))
    assert props["data"][0]["id"] == MODEL
    logs = host.check_output("docker compose -p frontier-llm logs llamacpp 2>&1")
    per_slot = int(wanted["env"]["LLAMA_ARG_CTX_SIZE"]) // int(wanted["env"]["LLAMA_ARG_N_PARALLEL"])
    slots = r"n_slots = %s, n_ctx_slot = %d\b" % (wanted["env"]["LLAMA_ARG_N_PARALLEL"], per_slot)
    assert re.search(slots, logs), "llama-server did not report %s" % slots


def engine_image(host) -> str:
    """The image the stack's llama.cpp engine runs (ours, or upstream's with FRONTIER_TEST_IMAGES=upstream)."""
    name = host.check_output("docker compose -p frontier-llm ps -q llamacpp")
    return json.loads(host.check_output("docker inspect %s" % name))[0]["Config"]["Image"]


def loaded_buffers(host, ctx: int, parallel: int, cache: str) -> dict:
    """Start llama-server with these settings at verbosity 4 and read the buffers it allocates."""
    flash = "on" if cache != "f16" else "off"
    name = "frontier-sizing-%d-%d-%s" % (ctx, parallel, cache)
    host.run("docker rm -f %s" % name)
    host.check_output(
        "docker run -d --name %s --network none -v %s:/m.gguf:ro -e LLAMA_ARG_MODEL=/m.gguf -e LLAMA_ARG_CTX_SIZE=%d "
        "-e LLAMA_ARG_N_PARALLEL=%d -e LLAMA_ARG_CACHE_TYPE_K=%s -e LLAMA_ARG_CACHE_TYPE_V=%s -e LLAMA_ARG_FLASH_ATTN=%s "
        "-e LLAMA_ARG_LOG_VERBOSITY=4 %s" % (name, MODEL_FILE, ctx * parallel, parallel, cache, cache, flash,
                                             engine_image(host)))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            logs = host.run("docker logs %s 2>&1" % name).stdout
            if "compute buffer size" in logs or "exiting" in logs:
                break
            time.sleep(0.5)
    finally:
        host.run("docker rm -f %s" % name)
    kv = re.search(r"llama_kv_cache: size =\s+([0-9.]+) MiB \(\s*(\d+) cells", logs)
    weights = re.search(r"CPU_Mapped model buffer size =\s+([0-9.]+) MiB", logs)
    assert kv and weights, logs[-2000:]
    return {"kv_mib": float(kv.group(1)), "cells": int(kv.group(2)), "weights_mib": float(weights.group(1))}


@pytest.mark.parametrize("ctx, parallel, cache", [
    (1000, 1, "f16"), (2048, 1, "f16"), (2048, 4, "f16"), (2048, 4, "q8_0"), (3000, 2, "q4_0"),
])
def test_planner_kv_and_weights_match_llama_cpp(host, ctx: int, parallel: int, cache: str) -> None:
    meta = host.ansible("frontier.llm.gguf_info", "path=%s" % MODEL_FILE, check=False)["model"]
    figures = model_memory(meta, ctx=ctx, parallel=parallel, kv_cache_type=cache, flash_attention=cache != "f16",
                           engine="llamacpp")
    real = loaded_buffers(host, ctx, parallel, cache)
    print("ctx %d x %d %s: planner KV %.2f MiB, llama.cpp %.2f MiB (%d cells); weights %.2f vs model buffer %.2f MiB"
          % (ctx, parallel, cache, figures["kv_bytes"] / MIB, real["kv_mib"], real["cells"],
             figures["weights_bytes"] / MIB, real["weights_mib"]))
    assert figures["kv_tokens"] == real["cells"] * parallel  # llama.cpp reports the cells of one sequence
    # llama.cpp prints MiB with two decimals.
    assert abs(figures["kv_bytes"] / MIB - real["kv_mib"]) <= 0.01
    assert abs(figures["weights_bytes"] / MIB - real["weights_mib"]) <= 0.10 * real["weights_mib"]


def test_measured_memory_beside_the_plan(host) -> None:
    name = host.check_output("docker compose -p frontier-llm ps -q llamacpp")
    used = host.check_output("docker stats --no-stream --format '{{.MemUsage}}' %s" % name)
    wanted = plan(host)
    total = sum(model["total_bytes"] for model in wanted["models"])
    print("llamacpp container uses %s; the plan sized the model at %.1f MiB, limit %d MiB"
          % (used, total / MIB, wanted["components"]["llamacpp"]["mem_limit_mb"]))
    assert used.split("/")[0].strip()


def operator_key(host) -> str:
    return json.loads(host.check_output("cat %s/secrets/api_keys.json" % ROOT))["frontier-ops"]["key"]


@pytest.mark.parametrize("method, path", [("GET", "/slots"), ("GET", "/props"), ("GET", "/metrics"),
                                          ("GET", "/lora-adapters"), ("POST", "/slots/0?action=erase")])
def test_llama_servers_own_routes_are_the_operators(host, method: str, path: str) -> None:
    """The genuine llama-server's slots, properties, metrics and adapters: 403 for a user key, answered for the operator's."""
    def ask(key: str) -> tuple:
        out = host.run("curl -sS %s -X %s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' "
                       "%s -w '\\n%%{http_code}' 'https://127.0.0.1%s'"
                       % (CA, method, key, "-d '{}'" if method == "POST" else "", path))
        assert out.rc == 0, out.stderr
        body, _newline, status = out.stdout.rpartition("\n")
        return int(status), body

    status, body = ask(alice(host))
    assert status == 403 and "operator key" in body, (status, body)
    # The same request with the operator key reaches llama-server, which answers it itself: 200, or for a slot
    # action 501 with its own error (no --slot-save-path), never the gateway's refusal.
    status, body = ask(operator_key(host))
    if status == 501:
        assert path.startswith("/slots/") and json.loads(body)["error"]["type"] == "not_supported_error", body
    else:
        assert status == 200, (status, body)
    print("%s %s: user key 403, operator key %d %s" % (method, path, status, body[:60].replace("\n", " ")))
