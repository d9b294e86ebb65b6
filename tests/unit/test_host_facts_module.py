"""frontier.llm.host_facts end to end on this machine, with a fake nvidia-smi for the GPU part.

The module runs for real through ansible on localhost; only nvidia-smi is a test double
(tests/unit/fakes/fake_nvidia_smi.py) printing the fixture of two RTX 3090s, since no GPU
is reachable here. The Molecule default scenario checks the module on Debian containers.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from conftest import adhoc, install_fake

from ansible_collections.frontier.llm.plugins.modules import host_facts as host_facts_module

FIXTURES = Path(__file__).parent / "fixtures"


def host_facts(tmp_path: Path, fake_gpu: Optional[str] = None, disk_path: str = "/") -> Dict[str, Any]:
    env = {}
    if fake_gpu:
        fakes = install_fake(tmp_path / "bin", "nvidia-smi", Path(__file__).parent / "fakes" / "fake_nvidia_smi.py")
        env = {"PATH": str(fakes) + os.pathsep + os.environ["PATH"], "FAKE_NVIDIA_SMI_OUTPUT": str(FIXTURES / fake_gpu)}
    result = adhoc("frontier.llm.host_facts", {"disk_path": disk_path}, env)
    assert not result.get("failed"), result
    return result["ansible_facts"]["frontier_llm"]


def test_this_machine(tmp_path: Path) -> None:
    facts = host_facts(tmp_path, disk_path=str(tmp_path / "not" / "yet" / "there"))
    assert len(facts["usable_cpus"]) == len(os.sched_getaffinity(0))
    assert 1 <= facts["physical_cores"] <= len(facts["usable_cpus"])
    nodes = [entry for entry in os.listdir("/sys/devices/system/node") if entry[4:].isdigit()]
    assert len(facts["numa_nodes"]) == len(nodes)
    # the nearest existing parent of a path that does not exist yet is measured
    assert facts["disk"]["path"] == str(tmp_path)
    assert abs(facts["disk"]["free_mb"] - shutil.disk_usage(tmp_path).free // 1048576) < 256


def test_no_gpu_without_gpu_tools(tmp_path: Path) -> None:
    if shutil.which("nvidia-smi") or shutil.which("rocm-smi"):
        pytest.skip("this machine has a GPU tool; the fake nvidia-smi tests cover the parsing")
    assert host_facts(tmp_path)["gpus"] == []


def test_nvidia_gpus_from_nvidia_smi(tmp_path: Path) -> None:
    facts = host_facts(tmp_path, fake_gpu="nvidia-smi-2x3090.csv")
    assert [(gpu["vendor"], gpu["index"], gpu["memory_mb"]) for gpu in facts["gpus"]] == [("nvidia", 0, 24576), ("nvidia", 1, 24576)]
    assert [gpu["pci_bus_id"] for gpu in facts["gpus"]] == ["0000:3b:00.0", "0000:af:00.0"]
    # No such PCI device on this machine: the node is unknown, and the planner keeps its memory rule.
    assert [gpu["numa_node"] for gpu in facts["gpus"]] == [-1, -1]


def test_gpu_numa_nodes_from_a_fake_sysfs_tree(tmp_path: Path) -> None:
    devices = tmp_path / "sys" / "bus" / "pci" / "devices"
    for address, node in (("0000:3b:00.0", "0\n"), ("0000:af:00.0", "1\n"), ("0000:d8:00.0", "-1\n")):
        (devices / address).mkdir(parents=True)
        (devices / address / "numa_node").write_text(node)
    gpus = [{"vendor": "nvidia", "pci_bus_id": "0000:3b:00.0"}, {"vendor": "nvidia", "pci_bus_id": "0000:af:00.0"},
            {"vendor": "amd", "pci_bus_id": "0000:d8:00.0"}, {"vendor": "amd", "pci_bus_id": "0000:01:00.0"},
            {"vendor": "nvidia", "pci_bus_id": None}]
    host_facts_module._gpu_numa_nodes(gpus, str(devices))  # pylint: disable=protected-access
    assert [gpu["numa_node"] for gpu in gpus] == [0, 1, -1, -1, -1]


def test_nvidia_smi_without_devices(tmp_path: Path) -> None:
    assert host_facts(tmp_path, fake_gpu="nvidia-smi-no-devices.txt")["gpus"] == []
