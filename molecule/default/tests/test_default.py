"""Verify the default scenario: systemd runs and the planner's facts were gathered.

The facts are read from the jsonfile fact cache that the converge wrote (its location is
set in .config/molecule/config.yml), so this checks what the converge gathered, not a
fresh setup run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict

import pytest

testinfra_hosts = ["ansible://all"]


def cached_facts(hostname: str) -> Dict[str, Any]:
    """Load the facts cached for a host by the converge, without the ``ansible_`` prefix.

    ansible-core 2.19 names the jsonfile cache ``s1_<host>`` and wraps the facts in a
    ``__payload__`` string; older releases write ``<host>`` with the facts as they are.
    """
    directory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "facts"
    files = [path for path in directory.glob(f"*{hostname}") if path.name in (hostname, f"s1_{hostname}")]
    assert files, f"no fact cache for {hostname} in {directory}"
    data = json.loads(files[0].read_text())
    if "__payload__" in data:
        data = json.loads(data["__payload__"])
    return {key.removeprefix("ansible_"): value for key, value in data.items()}


def test_systemd_is_running(host) -> None:
    state = host.run("systemctl is-system-running")
    assert state.stdout.strip() == "running", state.stdout + state.stderr


@pytest.mark.parametrize("key", ["memtotal_mb", "processor_vcpus", "processor_cores", "mounts", "distribution_major_version"])
def test_ansible_facts_gathered(host, key: str) -> None:
    facts = cached_facts(host.backend.get_hostname())
    assert key in facts, f"{key} missing from the converge's facts"


def test_host_facts_match_the_host(host) -> None:
    facts = cached_facts(host.backend.get_hostname())
    ours = facts["frontier_llm"]
    assert ours["container"] is True
    nproc = int(host.check_output("nproc"))
    assert len(ours["usable_cpus"]) == nproc
    assert 1 <= ours["physical_cores"] <= nproc
    # /sys/devices/system/node is the kernel's, seen through the container.
    nodes = host.run("ls -d /sys/devices/system/node/node[0-9]*").stdout.split()
    assert len(ours["numa_nodes"]) == len(nodes)
    assert ours["gpus"] == []
    df_free_kb = int(host.check_output("df -Pk / | awk 'NR==2 {print $4}'"))
    assert abs(ours["disk"]["free_mb"] - df_free_kb // 1024) < 512
