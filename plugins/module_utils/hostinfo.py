# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for the host facts Ansible does not gather.

Plain Python with no Ansible import: every function takes text (a file's contents or a
command's output) and returns plain data, so the parsing is unit-tested on captured real
output, and :mod:`host_facts` only reads files and runs commands.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Tuple

# cgroup v1 reports "no limit" as the largest page-aligned signed 64-bit value (or close to
# it); anything at or above 2**60 bytes is treated as unlimited.
_CGROUP_UNLIMITED = 1 << 60
MIB = 1024 * 1024


def parse_cpulist(text: str) -> List[int]:
    """Expand a Linux cpulist such as ``0-3,8,10-11`` into CPU numbers.

    The format is the kernel's (Documentation/admin-guide/cputopology.rst), used by
    ``/sys/devices/system/node/nodeN/cpulist`` and ``cpuset.cpus``.
    """
    cpus: List[int] = []
    text = text.strip()
    if not text:
        return cpus
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.extend(range(int(low), int(high) + 1))
        else:
            cpus.append(int(part))
    return sorted(set(cpus))


def format_cpulist(cpus: Iterable[int]) -> str:
    """Compress CPU numbers into the kernel's cpulist form (``0-3,8``), as Docker's ``--cpuset-cpus`` takes it."""
    ordered = sorted(set(cpus))
    ranges: List[str] = []
    start: Optional[int] = None
    prev: Optional[int] = None
    for cpu in ordered:
        if start is None:
            start = prev = cpu
            continue
        if prev is not None and cpu == prev + 1:
            prev = cpu
            continue
        ranges.append(str(start) if start == prev else "%d-%d" % (start, prev))
        start = prev = cpu
    if start is not None:
        ranges.append(str(start) if start == prev else "%d-%d" % (start, prev))
    return ",".join(ranges)


def parse_node_meminfo(text: str) -> int:
    """Return MemTotal in MiB from a ``/sys/devices/system/node/nodeN/meminfo`` file.

    Lines read ``Node 0 MemTotal:       16314988 kB``.
    """
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "MemTotal:":
            return int(fields[3]) // 1024
    raise ValueError("no MemTotal line in node meminfo")


def physical_cores_from_topology(pairs: Iterable[Tuple[str, str]]) -> int:
    """Count physical cores from (physical_package_id, core_id) pairs of the usable CPUs.

    Hyper-threads share a core id within a package, so distinct pairs are distinct cores.
    """
    return len(set(pairs))


def parse_cgroup_limit(text: str) -> Optional[int]:
    """Return a cgroup memory limit in MiB, or None when unlimited.

    cgroup v2 writes ``max`` in ``memory.max``; cgroup v1 writes a huge number in
    ``memory.limit_in_bytes`` when no limit is set.
    """
    value = text.strip()
    if not value or value == "max":
        return None
    limit = int(value)
    if limit >= _CGROUP_UNLIMITED:
        return None
    return limit // MIB


def parse_proc_self_cgroup(text: str) -> Dict[str, str]:
    """Map each cgroup controller (``memory``, or ``""`` for the v2 unified tree) to this process's path."""
    paths: Dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _hier, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def pci_address(bus_id: str) -> Optional[str]:
    """A PCI address as sysfs names it (``0000:3b:00.0``) from a tool's spelling of it, or None when it is not one.

    nvidia-smi's ``pci.bus_id`` has an 8-digit domain in upper case (``00000000:3B:00.0``); rocm-smi's ``PCI Bus``
    is already in the kernel's form.
    """
    parts = bus_id.strip().lower().split(":")
    if len(parts) != 3 or "." not in parts[2]:
        return None
    domain, bus, slot = parts
    device, _dot, function = slot.partition(".")
    try:
        return "%04x:%02x:%02x.%x" % (int(domain, 16), int(bus, 16), int(device, 16), int(function, 16))
    except ValueError:
        return None


def parse_numa_node(text: Optional[str]) -> int:
    """A PCI device's ``numa_node`` file: its node, or -1 when the kernel does not know it (or the file is unreadable)."""
    try:
        node = int((text or "").strip())
    except ValueError:
        return -1
    return node if node >= 0 else -1


def parse_nvidia_smi(text: str) -> List[Dict[str, Any]]:
    """Parse ``nvidia-smi --query-gpu=index,name,memory.total,uuid,driver_version,pci.bus_id --format=csv,noheader,nounits``.

    memory.total is in MiB with ``nounits``. The sixth field, the PCI address, is optional (the query of 0.1.0 had
    five). Lines that have neither five nor six fields are skipped (nvidia-smi prints errors such as
    ``No devices were found`` on stdout).
    """
    gpus: List[Dict[str, Any]] = []
    for line in text.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) not in (5, 6) or not fields[0].isdigit():
            continue
        index, name, memory, uuid, driver = fields[:5]
        try:
            memory_mb = int(float(memory))
        except ValueError:
            continue
        gpus.append({
            "vendor": "nvidia",
            "index": int(index),
            "name": name,
            "memory_mb": memory_mb,
            "uuid": uuid,
            "driver": driver,
            "pci_bus_id": pci_address(fields[5]) if len(fields) == 6 else None,
        })
    return gpus


def parse_rocm_smi(text: str) -> List[Dict[str, Any]]:
    """Parse ``rocm-smi --showmeminfo vram --showproductname --showbus --json``.

    The JSON maps ``card0`` ... to dicts whose keys include ``VRAM Total Memory (B)``,
    ``Card series`` (or ``Card Series``) and, with ``--showbus``, ``PCI Bus``.
    """
    try:
        data = json.loads(text)
    except ValueError:
        return []
    gpus: List[Dict[str, Any]] = []
    for card in sorted(data):
        if not card.startswith("card"):
            continue
        info = data[card]
        total = info.get("VRAM Total Memory (B)")
        if total is None:
            continue
        gpus.append({
            "vendor": "amd",
            "index": int(card[4:]) if card[4:].isdigit() else len(gpus),
            "name": info.get("Card series") or info.get("Card Series") or info.get("Card model") or "AMD GPU",
            "memory_mb": int(total) // MIB,
            "uuid": info.get("Unique ID", ""),
            "driver": "",
            "pci_bus_id": pci_address(str(info["PCI Bus"])) if info.get("PCI Bus") else None,
        })
    return gpus


def apple_gpu_working_set_mb(memsize_mb: int, wired_limit_mb: int = 0) -> int:
    """Memory the Metal GPU may wire on Apple Silicon, in MiB.

    macOS lets the GPU use about two thirds of unified memory up to 36 GiB and three
    quarters above, unless ``sysctl iogpu.wired_limit_mb`` raises it (0 = the default).
    Ollama reads the same bound through Metal's recommendedMaxWorkingSetSize.
    """
    if wired_limit_mb > 0:
        return min(wired_limit_mb, memsize_mb)
    if memsize_mb > 36 * 1024:
        return memsize_mb * 3 // 4
    return memsize_mb * 2 // 3


DOCKER_DESKTOP_KEYS = {
    # canonical name: (settings-store.json key (4.35+), settings.json key (<= 4.34))
    "memory_mib": ("MemoryMiB", "memoryMiB"),
    "cpus": ("Cpus", "cpus"),
    "swap_mib": ("SwapMiB", "swapMiB"),
    "disk_size_mib": ("DiskSizeMiB", "diskSizeMiB"),
}


def parse_docker_desktop_settings(text: str) -> Dict[str, Optional[int]]:
    """Read the VM size from Docker Desktop's settings file (either format)."""
    data = json.loads(text)
    result: Dict[str, Optional[int]] = {}
    for name, keys in DOCKER_DESKTOP_KEYS.items():
        value = None
        for key in keys:
            if key in data:
                value = int(data[key])
                break
        result[name] = value
    return result
