"""Parsers behind frontier.llm.host_facts, on captured and hand-written inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.frontier.llm.plugins.module_utils import hostinfo

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("text, cpus", [
    ("0-3", [0, 1, 2, 3]),
    ("0-3,8,10-11\n", [0, 1, 2, 3, 8, 10, 11]),
    ("5", [5]),
    ("", []),
])
def test_parse_cpulist(text: str, cpus: list) -> None:
    assert hostinfo.parse_cpulist(text) == cpus


@pytest.mark.parametrize("cpus, text", [
    ([0, 1, 2, 3], "0-3"),
    ([0, 1, 2, 3, 8, 10, 11], "0-3,8,10-11"),
    ([7], "7"),
    ([], ""),
    ([3, 1, 2], "1-3"),
])
def test_format_cpulist(cpus: list, text: str) -> None:
    assert hostinfo.format_cpulist(cpus) == text


def test_cpulist_round_trip() -> None:
    cpus = [0, 2, 4, 5, 6, 9, 10, 31]
    assert hostinfo.parse_cpulist(hostinfo.format_cpulist(cpus)) == cpus


def test_parse_node_meminfo() -> None:
    text = "Node 1 MemTotal:       65930544 kB\nNode 1 MemFree:        61234500 kB\n"
    assert hostinfo.parse_node_meminfo(text) == 65930544 // 1024


def test_parse_node_meminfo_without_total() -> None:
    with pytest.raises(ValueError, match="MemTotal"):
        hostinfo.parse_node_meminfo("Node 0 MemFree: 1 kB\n")


def test_physical_cores_counts_distinct_cores() -> None:
    # 2 packages x 2 cores x 2 threads
    pairs = [("0", "0"), ("0", "0"), ("0", "1"), ("0", "1"), ("1", "0"), ("1", "0"), ("1", "1"), ("1", "1")]
    assert hostinfo.physical_cores_from_topology(pairs) == 4


@pytest.mark.parametrize("text, mb", [
    ("max\n", None),
    ("9223372036854771712\n", None),  # cgroup v1 without a limit
    ("17179869184\n", 16384),
    ("", None),
])
def test_parse_cgroup_limit(text: str, mb) -> None:
    assert hostinfo.parse_cgroup_limit(text) == mb


def test_parse_proc_self_cgroup_v1_and_v2() -> None:
    v1 = "12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n0::/init.scope\n"
    paths = hostinfo.parse_proc_self_cgroup(v1)
    assert paths["memory"] == "/docker/abc"
    assert paths["cpuacct"] == "/docker/abc"
    assert paths[""] == "/init.scope"


def test_parse_nvidia_smi_two_gpus() -> None:
    gpus = hostinfo.parse_nvidia_smi((FIXTURES / "nvidia-smi-2x3090.csv").read_text())
    assert [gpu["index"] for gpu in gpus] == [0, 1]
    assert all(gpu["memory_mb"] == 24576 and gpu["vendor"] == "nvidia" for gpu in gpus)
    assert gpus[0]["name"] == "NVIDIA GeForce RTX 3090"
    assert gpus[1]["driver"] == "550.54.14"


def test_parse_nvidia_smi_reads_the_pci_address_in_sysfs_form() -> None:
    gpus = hostinfo.parse_nvidia_smi((FIXTURES / "nvidia-smi-2x3090.csv").read_text())
    assert [gpu["pci_bus_id"] for gpu in gpus] == ["0000:3b:00.0", "0000:af:00.0"]


def test_parse_nvidia_smi_without_the_pci_field() -> None:
    # The five fields of 0.1.0's query: the address is unknown, not an error.
    gpus = hostinfo.parse_nvidia_smi("0, NVIDIA GeForce RTX 3090, 24576, GPU-1, 550.54.14\n")
    assert gpus[0]["memory_mb"] == 24576 and gpus[0]["pci_bus_id"] is None


@pytest.mark.parametrize("bus_id, address", [
    ("00000000:3B:00.0", "0000:3b:00.0"),
    ("0000:af:00.1\n", "0000:af:00.1"),
    ("00000001:03:1F.7", "0001:03:1f.7"),
    ("[N/A]", None),
    ("0000:zz:00.0", None),
    ("", None),
])
def test_pci_address(bus_id: str, address: str) -> None:
    assert hostinfo.pci_address(bus_id) == address


@pytest.mark.parametrize("text, node", [("1\n", 1), ("0", 0), ("-1\n", -1), ("", -1), (None, -1), ("x", -1)])
def test_parse_numa_node(text: str, node: int) -> None:
    assert hostinfo.parse_numa_node(text) == node


def test_parse_nvidia_smi_no_devices() -> None:
    assert hostinfo.parse_nvidia_smi((FIXTURES / "nvidia-smi-no-devices.txt").read_text()) == []


def test_parse_rocm_smi() -> None:
    gpus = hostinfo.parse_rocm_smi((FIXTURES / "rocm-smi.json").read_text())
    assert gpus == [{"vendor": "amd", "index": 0, "name": "Radeon RX 7900 XTX", "memory_mb": 24560, "uuid": "", "driver": "",
                     "pci_bus_id": "0000:03:00.0"}]


def test_parse_rocm_smi_garbage() -> None:
    assert hostinfo.parse_rocm_smi("ERROR: no GPUs") == []


@pytest.mark.parametrize("memsize_mb, wired, expected", [
    (196608, 0, 147456),   # 192 GiB Mac Studio: three quarters
    (32768, 0, 21845),     # 32 GiB: two thirds
    (196608, 180000, 180000),
])
def test_apple_gpu_working_set(memsize_mb: int, wired: int, expected: int) -> None:
    assert hostinfo.apple_gpu_working_set_mb(memsize_mb, wired) == expected


@pytest.mark.parametrize("settings", [
    {"MemoryMiB": 157286, "Cpus": 22, "SwapMiB": 4096, "DiskSizeMiB": 204800, "AutoStart": True},
    {"memoryMiB": 157286, "cpus": 22, "swapMiB": 4096, "diskSizeMiB": 204800, "autoStart": True},
])
def test_parse_docker_desktop_settings_both_formats(settings: dict) -> None:
    assert hostinfo.parse_docker_desktop_settings(json.dumps(settings)) == {
        "memory_mib": 157286, "cpus": 22, "swap_mib": 4096, "disk_size_mib": 204800}
