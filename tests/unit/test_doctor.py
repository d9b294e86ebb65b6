"""The doctor's diagnosis from a host's readings: each problem found once, a healthy host finds none."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.doctor import MIB, diagnose


def healthy() -> Dict[str, Any]:
    return {
        "containers": [
            {"Name": "/frontier-llm-llamacpp-1", "State": {"Status": "running", "OOMKilled": False}, "RestartCount": 0,
             "HostConfig": {"Memory": 1024 * MIB}},
            {"Name": "/frontier-llm-nginx-1", "State": {"Status": "running", "OOMKilled": False}, "RestartCount": 1,
             "HostConfig": {"Memory": 256 * MIB}},
        ],
        "stats": {"frontier-llm-llamacpp-1": 600 * MIB, "frontier-llm-nginx-1": 20 * MIB},
        "kernel_log": ["eth0: link up"],
        "vmstat": {"first": {"pswpin": 100, "pswpout": 100}, "second": {"pswpin": 101, "pswpout": 100}, "seconds": 2},
        "disk": {"path": "/var/lib/frontier-llm/models", "avail": 50 * 1024 * MIB, "size": 100 * 1024 * MIB},
        "engine_log": ["llama_model_load: loaded meta data", "srv  update_slots: all slots are idle"],
        "plan": {"engine": "llamacpp", "host": {"memtotal_mb": 24105}},
        "memtotal_mb": 24105,
    }


def test_a_healthy_host_has_no_finding() -> None:
    assert diagnose(healthy()) == []


def broken(change: str) -> Dict[str, Any]:
    readings = copy.deepcopy(healthy())
    if change == "oom":
        readings["containers"][0]["State"]["OOMKilled"] = True
    elif change == "restarts":
        readings["containers"][1]["RestartCount"] = 7
    elif change == "memory":
        readings["stats"]["frontier-llm-llamacpp-1"] = 950 * MIB
    elif change == "kernel-oom":
        readings["kernel_log"].append("Memory cgroup out of memory: Killed process 4242 (llama-server)")
    elif change == "swap":
        readings["vmstat"]["second"] = {"pswpin": 400, "pswpout": 300}
    elif change == "disk":
        readings["disk"]["avail"] = 5 * 1024 * MIB
    elif change == "model-churn":
        readings["engine_log"] += ["llama_model_load: loaded meta data"] * 4
    elif change == "plan":
        readings["plan"] = None
    elif change == "plan-drift":
        readings["memtotal_mb"] = 16000
    return readings


@pytest.mark.parametrize("check", ["oom", "restarts", "memory", "kernel-oom", "swap", "disk", "model-churn", "plan",
                                   "plan-drift"])
def test_each_problem_is_found_once_with_a_remedy(check: str) -> None:
    found = diagnose(broken(check))
    assert [item["check"] for item in found] == [check]
    assert found[0]["seen"] and found[0]["remedy"]


def test_the_memory_finding_names_the_container_and_its_figures() -> None:
    seen = diagnose(broken("memory"))[0]["seen"]
    assert seen == "frontier-llm-llamacpp-1 uses 950 MiB of its 1024 MiB limit (93%)"


def test_a_container_without_a_limit_is_not_measured_against_one() -> None:
    readings = healthy()
    readings["containers"][0]["HostConfig"]["Memory"] = 0
    readings["stats"]["frontier-llm-llamacpp-1"] = 10 ** 12
    assert diagnose(readings) == []
