"""Verify the stack with mistral.rs: the real engine (PyPI wheel mistralrs) in the collection's mistralrs-pyserver.

The HTTP server in that image is frontier.llm's own; the tokens come from mistral.rs, serving
SmolLM2-135M-Instruct from the TOML file the stack role wrote from the plan.
"""

from __future__ import annotations

import json
import os

import pytest
import tomllib

from test_engines import CA, MIB, MODEL, ROOT, chat, plan

testinfra_hosts = ["ansible://frontier-mistralrs13"]


def engine_state(host) -> dict:
    name = host.check_output("docker compose -p frontier-llm ps -q mistral")
    return json.loads(host.check_output("docker inspect %s" % name))[0]


def test_a_real_completion_through_nginx(host) -> None:
    answer = json.loads(chat(host, stream=False))
    text = answer["choices"][0]["message"]["content"]
    print("SmolLM2 on mistral.rs answered: %r" % text)
    assert answer["model"] == MODEL
    assert answer["usage"]["completion_tokens"] > 0 and text.strip()


def test_streamed_completion_in_several_chunks(host) -> None:
    chunks = [line[6:] for line in chat(host, stream=True).splitlines() if line.startswith("data: ")]
    assert chunks[-1] == "[DONE]"
    words = [json.loads(chunk)["choices"][0]["delta"].get("content") for chunk in chunks[:-1]]
    assert len([word for word in words if word]) >= 3, chunks


def test_no_key_no_answer(host) -> None:
    status = host.check_output("curl -s -o /dev/null -w '%%{http_code}' %s https://127.0.0.1/v1/models" % CA)
    assert status == "401"


def test_the_engine_is_the_real_mistral_rs(host) -> None:
    if os.environ.get("FRONTIER_TEST_IMAGES") == "upstream":
        pytest.skip("FRONTIER_TEST_IMAGES=upstream: the engine is upstream's image, not mistralrs-pyserver")
    state = engine_state(host)
    version = host.check_output("docker exec %s mistralrs-pyserver --version" % state["Id"])
    assert "mistralrs 0.9.5" in version
    logs = host.check_output("docker logs %s 2>&1" % state["Id"])
    # mistral.rs's own log lines, then the server's note that the model loaded.
    assert "mistralrs_core" in logs and "loaded %s (SmolLM2-135M-Instruct.Q4_1.gguf)" % MODEL in logs


def test_engine_runs_with_the_plans_settings(host) -> None:
    wanted = plan(host)
    state = engine_state(host)
    env = dict(item.split("=", 1) for item in state["Config"]["Env"])
    for key, value in wanted["env"].items():
        assert env.get(key) == value, key
    assert state["HostConfig"]["Memory"] == wanted["components"]["mistral"]["mem_limit_mb"] * MIB
    assert state["HostConfig"]["MemoryReservation"] == wanted["components"]["mistral"]["mem_reservation_mb"] * MIB
    # The file the engine reads, read inside the container: the plan's parallel and context.
    config = tomllib.loads(host.check_output("docker exec %s cat /etc/mistralrs/config.toml" % state["Id"]))
    assert config["runtime"]["max_seqs"] == wanted["settings"]["parallel"]
    assert [(m["model_id"], m["device"]["max_seq_len"]) for m in config["models"]] == [
        (model["name"], model["ctx"]) for model in wanted["models"]]
    assert host.file(ROOT + "/mistralrs.toml").mode == 0o644


def test_engine_runs_unprivileged(host) -> None:
    state = engine_state(host)
    assert state["Config"]["User"] in ("", "10001:10001")
    assert host.check_output("docker exec %s id -u" % state["Id"]) == "10001"
    assert state["HostConfig"]["CapDrop"] == ["ALL"] and not state["HostConfig"]["PortBindings"]


def test_measured_memory_beside_the_plan(host) -> None:
    state = engine_state(host)
    used = host.check_output("docker stats --no-stream --format '{{.MemUsage}}' %s" % state["Id"])
    wanted = plan(host)
    total = sum(model["total_bytes"] for model in wanted["models"])
    print("mistral.rs container uses %s; the plan sized the model at %.1f MiB, limit %d MiB"
          % (used, total / MIB, wanted["components"]["mistral"]["mem_limit_mb"]))
    assert used.split("/")[0].strip()
