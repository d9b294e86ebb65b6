#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather the host facts the frontier.llm resource planner needs and Ansible lacks."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_facts
short_description: Gather physical cores, NUMA nodes, GPUs, cgroup limits and free disk
version_added: 0.1.0
description:
  - Reports what C(ansible_facts) lacks for sizing an LLM host, under C(ansible_facts.frontier_llm).
  - Physical cores (not hardware threads), NUMA nodes with their CPUs and memory (from C(/sys/devices/system/node)),
    GPUs (NVIDIA through C(nvidia-smi), AMD through C(rocm-smi), Apple Silicon unified memory),
    the cgroup memory limit when the host is itself a container, the Docker Desktop VM size on macOS,
    and the free space of the file system that holds O(disk_path).
  - Each NVIDIA or AMD GPU carries its PCI address (C(pci_bus_id), as sysfs names it, from C(nvidia-smi)'s
    C(pci.bus_id) or C(rocm-smi --showbus)) and the NUMA node that device hangs off (C(numa_node), read from
    C(/sys/bus/pci/devices/<pci_bus_id>/numa_node); C(-1) when the kernel does not know it or the address is unknown),
    so that the planner places the engine on its GPUs' node.
  - Read-only; it runs the same in check mode.
author:
  - frontier.llm developers (@frontier-llm)
options:
  disk_path:
    description:
      - Path whose file system is measured. When it does not exist yet, its nearest existing parent is used.
    type: path
    default: /
  docker_desktop_settings_dir:
    description:
      - Directory of Docker Desktop's C(settings-store.json) or C(settings.json) on macOS.
    type: path
    default: ~/Library/Group Containers/group.com.docker
attributes:
  check_mode:
    description: Can run in check mode and return the same facts.
    support: full
  diff_mode:
    description: Changes nothing, so there is nothing to show.
    support: none
  facts:
    description: Returns its results as facts.
    support: full
notes:
  - GPU tools that are absent are not an error; the host then reports no GPU of that vendor.
"""

EXAMPLES = r"""
- name: Gather host facts for the planner
  frontier.llm.host_facts:
    disk_path: /var/lib/frontier-llm/models

- name: Show the physical core count
  ansible.builtin.debug:
    var: ansible_facts.frontier_llm.physical_cores
"""

RETURN = r"""
ansible_facts:
  description: Facts added under the key C(frontier_llm).
  returned: always
  type: dict
  contains:
    frontier_llm:
      description: The host's sizing facts.
      type: dict
      returned: always
      sample:
        physical_cores: 8
        performance_cores: null
        usable_cpus: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        numa_nodes:
          - {id: 0, cpus: "0-7", cpu_count: 8, memory_mb: 64250}
          - {id: 1, cpus: "8-15", cpu_count: 8, memory_mb: 64509}
        gpus:
          - {vendor: nvidia, index: 0, name: NVIDIA GeForce RTX 4090, memory_mb: 24564, uuid: GPU-1, driver: "550.54",
             pci_bus_id: "0000:3b:00.0", numa_node: 0}
        apple_silicon: false
        unified_memory_mb: null
        gpu_working_set_mb: null
        cgroup_memory_limit_mb: null
        container: false
        docker_desktop: null
        disk: {path: /, free_mb: 81920, total_mb: 257000}
      contains:
        gpus:
          description:
            - The GPUs, each with C(vendor), C(index), C(name), C(memory_mb), C(uuid), C(driver).
            - NVIDIA and AMD GPUs also carry C(pci_bus_id), their PCI address as sysfs names it (null when the tool
              did not report it), and C(numa_node), the NUMA node that device hangs off (C(-1) when unknown).
          type: list
          elements: dict
          returned: always
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.frontier.llm.plugins.module_utils.hostinfo import (
    apple_gpu_working_set_mb,
    format_cpulist,
    parse_cgroup_limit,
    parse_cpulist,
    parse_docker_desktop_settings,
    parse_node_meminfo,
    parse_numa_node,
    parse_nvidia_smi,
    parse_proc_self_cgroup,
    parse_rocm_smi,
    physical_cores_from_topology,
)

NVIDIA_QUERY = ["--query-gpu=index,name,memory.total,uuid,driver_version,pci.bus_id", "--format=csv,noheader,nounits"]
ROCM_QUERY = ["--showmeminfo", "vram", "--showproductname", "--showbus", "--json"]
SYS_NODE = "/sys/devices/system/node"
SYS_CPU = "/sys/devices/system/cpu"
SYS_PCI = "/sys/bus/pci/devices"


def _read(path):
    """Return a file's text, or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _run(module, args):
    """Run a command when it exists; return stdout on success, else None."""
    binary = module.get_bin_path(args[0])
    if binary is None:
        return None
    rc, out, _err = module.run_command([binary] + args[1:])
    return out if rc == 0 else None


def _usable_cpus():
    """CPUs this process may run on (a container's cpuset narrows the host's)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return []


def _linux_physical_cores(cpus):
    pairs = []
    for cpu in cpus:
        base = os.path.join(SYS_CPU, "cpu%d" % cpu, "topology")
        package = _read(os.path.join(base, "physical_package_id"))
        core = _read(os.path.join(base, "core_id"))
        if package is None or core is None:
            return None
        pairs.append((package.strip(), core.strip()))
    return physical_cores_from_topology(pairs) if pairs else None


def _linux_numa_nodes():
    nodes = []
    if not os.path.isdir(SYS_NODE):
        return nodes
    for entry in sorted(os.listdir(SYS_NODE)):
        if not entry.startswith("node") or not entry[4:].isdigit():
            continue
        cpulist = _read(os.path.join(SYS_NODE, entry, "cpulist"))
        meminfo = _read(os.path.join(SYS_NODE, entry, "meminfo"))
        if cpulist is None or meminfo is None:
            continue
        cpus = parse_cpulist(cpulist)
        nodes.append({
            "id": int(entry[4:]),
            "cpus": format_cpulist(cpus),
            "cpu_count": len(cpus),
            "memory_mb": parse_node_meminfo(meminfo),
        })
    return sorted(nodes, key=lambda node: node["id"])


def _linux_cgroup_limit():
    paths = parse_proc_self_cgroup(_read("/proc/self/cgroup") or "")
    candidates = []
    if "" in paths:  # cgroup v2
        candidates.append(os.path.join("/sys/fs/cgroup", paths[""].lstrip("/"), "memory.max"))
        candidates.append("/sys/fs/cgroup/memory.max")
    if "memory" in paths:  # cgroup v1
        candidates.append(os.path.join("/sys/fs/cgroup/memory", paths["memory"].lstrip("/"), "memory.limit_in_bytes"))
        candidates.append("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    for path in candidates:
        text = _read(path)
        if text is not None:
            return parse_cgroup_limit(text)
    return None


def _in_container():
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return True
    return (_read("/run/systemd/container") or "").strip() != ""


def _disk(path):
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    usage = shutil.disk_usage(probe)
    return {"path": probe, "free_mb": usage.free // (1024 * 1024), "total_mb": usage.total // (1024 * 1024)}


def _darwin(module, facts, settings_dir):
    def sysctl(name):
        out = _run(module, ["sysctl", "-n", name])
        return out.strip() if out else None

    physical = sysctl("hw.physicalcpu")
    facts["physical_cores"] = int(physical) if physical else None
    perf = sysctl("hw.perflevel0.physicalcpu")
    facts["performance_cores"] = int(perf) if perf else None
    brand = sysctl("machdep.cpu.brand_string") or ""
    memsize = sysctl("hw.memsize")
    if brand.startswith("Apple") and memsize:
        memsize_mb = int(memsize) // (1024 * 1024)
        wired = sysctl("iogpu.wired_limit_mb")
        facts["apple_silicon"] = True
        facts["unified_memory_mb"] = memsize_mb
        facts["gpu_working_set_mb"] = apple_gpu_working_set_mb(memsize_mb, int(wired) if wired and wired.isdigit() else 0)
        facts["gpus"] = [{"vendor": "apple", "index": 0, "name": brand, "memory_mb": facts["gpu_working_set_mb"],
                          "uuid": "", "driver": "metal"}]
    directory = settings_dir
    for name in ("settings-store.json", "settings.json"):
        text = _read(os.path.join(directory, name))
        if text is not None:
            try:
                desktop = parse_docker_desktop_settings(text)
            except ValueError:
                module.warn("Docker Desktop settings file %s is not valid JSON" % os.path.join(directory, name))
                break
            desktop["settings_file"] = os.path.join(directory, name)
            facts["docker_desktop"] = desktop
            break


def _linux(module, facts):
    cpus = _usable_cpus()
    facts["usable_cpus"] = cpus
    facts["physical_cores"] = _linux_physical_cores(cpus)
    facts["numa_nodes"] = _linux_numa_nodes()
    facts["cgroup_memory_limit_mb"] = _linux_cgroup_limit()
    facts["container"] = _in_container()
    nvidia = _run(module, ["nvidia-smi"] + NVIDIA_QUERY)
    if nvidia:
        facts["gpus"].extend(parse_nvidia_smi(nvidia))
    rocm = _run(module, ["rocm-smi"] + ROCM_QUERY)
    if rocm:
        facts["gpus"].extend(parse_rocm_smi(rocm))
    _gpu_numa_nodes(facts["gpus"])


def _gpu_numa_nodes(gpus, devices=SYS_PCI):
    """Add to each GPU the NUMA node its PCI device hangs off (``numa_node`` in sysfs; -1 when unknown)."""
    for gpu in gpus:
        address = gpu.get("pci_bus_id")
        gpu["numa_node"] = parse_numa_node(_read(os.path.join(devices, address, "numa_node")) if address else None)


def main():
    """Entry point: gather and return the facts."""
    module = AnsibleModule(
        argument_spec={
            "disk_path": {"type": "path", "default": "/"},
            "docker_desktop_settings_dir": {"type": "path", "default": "~/Library/Group Containers/group.com.docker"},
        },
        supports_check_mode=True,
    )
    facts = {
        "physical_cores": None,
        "performance_cores": None,
        "usable_cpus": [],
        "numa_nodes": [],
        "gpus": [],
        "apple_silicon": False,
        "unified_memory_mb": None,
        "gpu_working_set_mb": None,
        "cgroup_memory_limit_mb": None,
        "container": False,
        "docker_desktop": None,
        "disk": _disk(module.params["disk_path"]),
    }
    if os.uname()[0] == "Darwin":
        _darwin(module, facts, module.params["docker_desktop_settings_dir"])
    else:
        _linux(module, facts)
    module.exit_json(changed=False, ansible_facts={"frontier_llm": facts})


if __name__ == "__main__":
    main()
