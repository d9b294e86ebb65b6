"""The doctor's diagnosis from a host's readings: each problem found once, a healthy host finds none."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.doctor import MIB, diagnose

ENGINE_ID = "e" * 64
NGINX_ID = "n" * 64
OLD_ENGINE_ID = "0" * 64
# What llama-server b11434 prints when it starts, at its default verbosity (read from the real image's log).
LLAMA_SERVER_START = [
    "0.00.017.833 I srv    load_model: loading model '/models/SmolLM2-135M-Instruct.Q4_1.gguf'",
    "0.02.607.309 I srv    load_model: initializing, n_slots = 4, n_ctx_slot = 512, kv_unified = 'true'",
    "0.02.614.198 I srv  llama_server: model loaded",
]


def event(action: str, container: str, name: str = "frontier-llm-llamacpp-1") -> Dict[str, Any]:
    """A container event as `docker events --format '{{json .}}'` prints it."""
    return {"Type": "container", "Action": action, "Actor": {"ID": container, "Attributes": {"name": name}},
            "id": container, "time": 1796320000}


def healthy() -> Dict[str, Any]:
    return {
        "containers": [
            {"Id": ENGINE_ID, "Name": "/frontier-llm-llamacpp-1",
             "State": {"Status": "running", "OOMKilled": False, "Health": {"Status": "healthy"}}, "RestartCount": 0,
             "HostConfig": {"Memory": 1024 * MIB}},
            {"Id": NGINX_ID, "Name": "/frontier-llm-nginx-1", "State": {"Status": "running", "OOMKilled": False},
             "RestartCount": 1, "HostConfig": {"Memory": 256 * MIB}},
        ],
        # A release applied in the window: the old engine container stopped and was replaced, the new one started.
        "events": [event("kill", OLD_ENGINE_ID), event("die", OLD_ENGINE_ID), event("destroy", OLD_ENGINE_ID),
                   event("create", ENGINE_ID), event("start", ENGINE_ID)],
        "window": "1h",
        "stats": {"frontier-llm-llamacpp-1": 600 * MIB, "frontier-llm-nginx-1": 20 * MIB},
        "kernel_log": ["eth0: link up"],
        "kernel_log_source": "journalctl",
        "vmstat": {"first": {"pswpin": 100, "pswpout": 100}, "second": {"pswpin": 101, "pswpout": 100}, "seconds": 2},
        "disk": {"path": "/var/lib/frontier-llm/models", "avail": 50 * 1024 * MIB, "size": 100 * 1024 * MIB},
        "data_root": {"path": "/var/lib/docker", "avail": 40 * 1024 * MIB, "size": 100 * 1024 * MIB},
        "engine_log": LLAMA_SERVER_START + ["srv  update_slots: all slots are idle"],
        "plan": {"engine": "llamacpp", "host": {"memtotal_mb": 24105}},
        "memtotal_mb": 24105,
    }


def test_a_healthy_host_has_no_finding() -> None:
    assert diagnose(healthy()) == []


def broken(change: str) -> Dict[str, Any]:
    readings = copy.deepcopy(healthy())
    engine = readings["containers"][0]
    if change == "oom":
        # Restarted by its policy after the kill: OOMKilled is false again, Docker's oom event remains.
        readings["events"] += [event("oom", ENGINE_ID), event("die", ENGINE_ID), event("start", ENGINE_ID)]
    elif change == "restarts":
        readings["events"] += [event("die", ENGINE_ID), event("start", ENGINE_ID)] * 4
    elif change == "down":
        engine["State"] = {"Status": "exited", "ExitCode": 1, "OOMKilled": False}
    elif change == "unhealthy":
        engine["State"]["Health"]["Status"] = "unhealthy"
    elif change == "memory":
        readings["stats"]["frontier-llm-llamacpp-1"] = 950 * MIB
    elif change == "kernel-oom":
        readings["kernel_log"].append("Memory cgroup out of memory: Killed process 4242 (llama-server)")
    elif change == "swap":
        readings["vmstat"]["second"] = {"pswpin": 400, "pswpout": 300}
    elif change == "disk":
        readings["disk"]["avail"] = 5 * 1024 * MIB
    elif change == "docker-disk":
        readings["data_root"]["avail"] = 2 * 1024 * MIB
    elif change == "model-churn":
        readings["engine_log"] += LLAMA_SERVER_START * 3
    elif change == "plan":
        readings["plan"] = None
    elif change == "plan-drift":
        readings["memtotal_mb"] = 16000
    return readings


CHECKS = ["oom", "restarts", "down", "unhealthy", "memory", "kernel-oom", "swap", "disk", "docker-disk", "model-churn",
          "plan", "plan-drift"]


@pytest.mark.parametrize("check", CHECKS)
def test_each_problem_is_found_once_with_its_evidence_and_a_remedy(check: str) -> None:
    found = diagnose(broken(check))
    assert [item["check"] for item in found] == [check]
    assert found[0]["seen"] and found[0]["evidence"] and found[0]["remedy"]


def test_an_oom_kill_is_found_after_the_restart_that_cleared_oomkilled() -> None:
    found = diagnose(broken("oom"))[0]
    assert found["seen"] == "frontier-llm-llamacpp-1 was killed for memory 1 time(s) in the last 1h"
    assert found["evidence"] == "docker events (oom) over the last 1h"


def test_oomkilled_as_docker_inspect_shows_it_is_found_without_an_event() -> None:
    readings = healthy()
    readings["containers"][0]["State"]["OOMKilled"] = True
    assert [(item["check"], item["evidence"]) for item in diagnose(readings)] == [("oom", "docker inspect State.OOMKilled")]


def test_an_old_restart_count_is_not_a_restart_loop() -> None:
    """RestartCount counts since the container was created: with no exit in the window there is no loop now."""
    readings = healthy()
    readings["containers"][0]["RestartCount"] = 40
    assert diagnose(readings) == []


def test_exits_of_a_replaced_container_are_not_counted_against_the_new_one() -> None:
    readings = healthy()
    readings["events"] += [event("die", OLD_ENGINE_ID)] * 6
    assert diagnose(readings) == []


def test_one_start_of_the_real_llama_server_is_one_model_load() -> None:
    readings = healthy()
    readings["engine_log"] = LLAMA_SERVER_START * 3
    assert diagnose(readings) == []
    readings["engine_log"] = LLAMA_SERVER_START * 4
    assert [item["seen"] for item in diagnose(readings)] == ["the engine loaded a model 4 times in the last 1h"]


def test_ollama_runner_starts_are_its_model_loads() -> None:
    readings = healthy()
    readings["plan"]["engine"] = "ollama"
    line = 'time=2026-12-03T10:00:00Z level=INFO source=server.go:400 msg="starting runner" cmd="/usr/bin/ollama runner"'
    readings["engine_log"] = [line] * 4
    assert [item["check"] for item in diagnose(readings)] == ["model-churn"]


def test_the_memory_finding_names_the_container_and_its_figures() -> None:
    seen = diagnose(broken("memory"))[0]["seen"]
    assert seen == "frontier-llm-llamacpp-1 uses 950 MiB of its 1024 MiB limit (93%)"


def test_a_container_without_a_limit_is_not_measured_against_one() -> None:
    readings = healthy()
    readings["containers"][0]["HostConfig"]["Memory"] = 0
    readings["stats"]["frontier-llm-llamacpp-1"] = 10 ** 12
    assert diagnose(readings) == []


def test_a_restart_loop_after_oom_kills_gives_both_findings() -> None:
    readings = healthy()
    loop: List[Dict[str, Any]] = [event("oom", ENGINE_ID), event("die", ENGINE_ID), event("start", ENGINE_ID)] * 5
    readings["events"] += loop
    assert [(item["check"], item["seen"]) for item in diagnose(readings)] == [
        ("oom", "frontier-llm-llamacpp-1 was killed for memory 5 time(s) in the last 1h"),
        ("restarts", "frontier-llm-llamacpp-1 exited 5 times in the last 1h")]
