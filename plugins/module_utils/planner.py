# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource planner: each service's memory, CPUs and settings for one host.

Plain Python with no Ansible import. :func:`resource_plan` takes a host's facts (the shape of
``ansible_facts`` with the ``frontier_llm`` facts of ``frontier.llm.host_facts``) and the
models it will serve, and returns the plan every role of the collection consumes.

Rules, with their sources and where we depart from the seed guide (resource-allocation.md):

- **Budget.** Linux: RAM, or the cgroup limit when lower, minus an OS reserve of 10% clamped
  to 1-8 GiB. macOS with containers: the Docker Desktop VM, which the seed sizes at 80% of
  RAM, minus 1 GiB for the VM's kernel and engine. macOS with a native Ollama (the only way
  to use Metal: containers get no GPU on macOS): RAM minus a reserve of 15% clamped to
  4-16 GiB, and the VM then holds only the monitoring services.
- **Engine.** Its limit covers the models resident together (the largest
  ``max_loaded_models`` of them) times ``1 + headroom`` (seed: "leave 20% headroom");
  its reservation is what its largest model needs alone. With NVIDIA or AMD GPUs, only what
  does not fit in VRAM stays in RAM, plus the runtime and 1 GiB of load buffers. On Apple
  Silicon memory is unified, so everything counts against RAM. The seed's fixed limits
  (32G/16G small, 64G/48G medium, 192G/128G large) are not used: the large profile's 192G
  equals a 192 GB Mac's whole RAM and exceeds its own 80% Docker VM (153.6 GB).
- **Monitoring.** The seed's defaults (Prometheus 2G/1G, Grafana 1G/512M, Nginx 512M/256M)
  plus node-exporter 128M/64M (ours), halved on budgets under 16 GiB.
- **Fit.** The sum of all limits must stay within the budget; otherwise ``fits`` is false
  and a warning names what does not fit. Docker's ``mem_reservation`` is a soft limit, not
  a guarantee.
- **Profiles** as the seed gives them; ``auto`` starts at the models' size class (largest
  weights up to 10 GB: small, up to 40 GB: medium, above: large; any budget under 16 GiB:
  low_memory) and steps down to more conservative profiles until the plan fits.
- **NUMA.** With NVIDIA or AMD GPUs whose NUMA node host_facts knows (the PCI device's ``numa_node``), the
  engine runs on the node(s) its GPUs hang off; otherwise on the fewest nodes whose memory holds it, largest
  first. Never on CPUs outside ``usable_cpus``; a note names the rule that placed it.
- **Threads.** OMP_NUM_THREADS = OLLAMA_NUM_THREAD = physical cores (hardware threads share
  a core's execution units), at most the CPUs the engine may use.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.frontier.llm.plugins.module_utils.catalog import MODELS
from ansible_collections.frontier.llm.plugins.module_utils.hostinfo import format_cpulist, parse_cpulist
from ansible_collections.frontier.llm.plugins.module_utils.sizing import (
    ENGINE_SERVICE,
    ENGINES,
    KV_BYTES_PER_ELEMENT,
    RUNTIME_RAM_BYTES,
    PlanError,
    as_bool,
    model_memory,
    positive_int,
)
from ansible_collections.frontier.llm.plugins.module_utils.units import GIB, MIB, SizeError, docker_mib, to_mib

# The seed's profiles. keep_alive for small/medium is Ollama's default (5m); high_throughput's
# 30m is ours (the seed's troubleshooting: raise keep-alive when models reload too often).
PROFILES: Dict[str, Dict[str, Any]] = {
    "small": {"parallel": 4, "max_loaded_models": 3, "keep_alive": "5m", "flash_attention": False},
    "medium": {"parallel": 2, "max_loaded_models": 1, "keep_alive": "5m", "flash_attention": False},
    "large": {"parallel": 1, "max_loaded_models": 1, "keep_alive": "5m", "flash_attention": False},
    "low_memory": {"parallel": 1, "max_loaded_models": 1, "keep_alive": "1m", "flash_attention": False},
    "high_throughput": {"parallel": 8, "max_loaded_models": 1, "keep_alive": "30m", "flash_attention": True},
}
# auto: from the size class down to the most conservative profile.
AUTO_ORDER = ("small", "medium", "large", "low_memory")
SMALL_MAX_WEIGHTS = 10 * 1000 ** 3
MEDIUM_MAX_WEIGHTS = 40 * 1000 ** 3
LOW_MEMORY_BUDGET_MB = 16 * 1024

# Monitoring services: (limit MiB, reservation MiB, cpus).
COMPONENTS: Dict[str, Tuple[int, int, float]] = {
    "prometheus": (2048, 1024, 1.0),
    "grafana": (1024, 512, 1.0),
    "nginx": (512, 256, 0.5),
    "node_exporter": (128, 64, 0.25),
    # cAdvisor: about 100-200 MiB on a host with a handful of containers.
    "cadvisor": (256, 128, 0.5),
}
RUNTIMES = ("auto", "container", "native")
# Ollama's OLLAMA_KEEP_ALIVE: a Go duration (5m, 1h30m), a number of seconds, or a negative value for ever.
KEEP_ALIVE_RE = re.compile(r"^(-?[0-9]+|-?([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$")
# Docker refuses a memory limit below 6 MiB.
DOCKER_MIN_MEMORY_MB = 6
COMPONENT_KEYS = ("mem_limit_mb", "mem_reservation_mb", "mem_limit", "mem_reservation", "cpus")

LINUX_RESERVE = (0.10, 1024, 8192)
MAC_NATIVE_RESERVE = (0.15, 4096, 16384)
DOCKER_DESKTOP_SHARE = 0.80
DOCKER_VM_RESERVE_MB = 1024
GPU_LOAD_BUFFER_BYTES = GIB
DEFAULT_CTX = 4096
# The GPU vendor each offloading backend runs on.
BACKEND_VENDOR = {"cuda": "nvidia", "rocm": "amd"}


def _clamp_reserve(total_mb: int, rule: Tuple[float, int, int]) -> int:
    share, low, high = rule
    return int(min(max(total_mb * share, low), high))


def _host(facts: Any) -> Dict[str, Any]:
    """Validate the facts and reduce them to what the plan uses."""
    if not isinstance(facts, Mapping):
        raise PlanError("facts: expected a dict of host facts (ansible_facts), got %r" % (type(facts).__name__,))
    if "memtotal_mb" not in facts:
        raise PlanError("facts: memtotal_mb is missing (gather facts with ansible.builtin.setup, "
                        "or give frontier_llm_facts for an offline plan)")
    memtotal = positive_int(facts["memtotal_mb"], "facts.memtotal_mb")
    ours = facts.get("frontier_llm") or {}
    if not isinstance(ours, Mapping):
        raise PlanError("facts.frontier_llm: expected a dict (from frontier.llm.host_facts), got %r" % (ours,))
    if facts.get("processor_vcpus") is not None:
        vcpus = positive_int(facts["processor_vcpus"], "facts.processor_vcpus")
    else:
        vcpus = positive_int(facts.get("processor_nproc") or 1, "facts.processor_nproc")
    physical = ours.get("physical_cores")
    if physical is None and facts.get("processor_cores") and facts.get("processor_count"):
        physical = int(facts["processor_cores"]) * int(facts["processor_count"])
    physical = positive_int(physical or vcpus, "facts.frontier_llm.physical_cores")
    system = facts.get("system", "Linux")
    if system not in ("Linux", "Darwin"):
        raise PlanError("facts.system: %r is not supported (Linux, Darwin)" % (system,))
    cgroup = ours.get("cgroup_memory_limit_mb")
    effective = memtotal if cgroup is None else min(memtotal, positive_int(cgroup, "facts.frontier_llm.cgroup_memory_limit_mb"))
    gpus = list(ours.get("gpus") or [])
    for index, gpu in enumerate(gpus):
        if not isinstance(gpu, Mapping) or "memory_mb" not in gpu:
            raise PlanError("facts.frontier_llm.gpus[%d]: expected a dict with memory_mb, got %r" % (index, gpu))
        positive_int(gpu["memory_mb"], "facts.frontier_llm.gpus[%d].memory_mb" % index)
        _gpu_numa_node(gpu.get("numa_node"), index)
    nodes = list(ours.get("numa_nodes") or [])
    for index, node in enumerate(nodes):
        if not isinstance(node, Mapping) or not {"id", "cpus", "memory_mb"} <= set(node):
            raise PlanError("facts.frontier_llm.numa_nodes[%d]: expected a dict with id, cpus and memory_mb, got %r"
                            % (index, node))
        try:
            parse_cpulist(str(node["cpus"]))
        except ValueError:
            raise PlanError("facts.frontier_llm.numa_nodes[%d].cpus: %r is not a CPU list such as 0-7,16-23"
                            % (index, node["cpus"])) from None
        positive_int(node["memory_mb"], "facts.frontier_llm.numa_nodes[%d].memory_mb" % index, allow_zero=True)
    return {
        "system": system,
        "memtotal_mb": memtotal,
        "effective_mb": effective,
        "cgroup_memory_limit_mb": cgroup,
        "vcpus": vcpus,
        "physical_cores": min(physical, vcpus),
        "gpus": gpus,
        "apple_silicon": bool(ours.get("apple_silicon")),
        # Apple Silicon's performance cores: llama.cpp runs no faster with the efficiency cores added.
        "performance_cores": (min(positive_int(ours["performance_cores"], "facts.frontier_llm.performance_cores"), vcpus)
                              if ours.get("performance_cores") else None),
        "gpu_working_set_mb": ours.get("gpu_working_set_mb"),
        "numa_nodes": nodes,
        "usable_cpus": list(ours.get("usable_cpus") or []),
    }


def _gpu_numa_node(value: Any, index: int) -> Optional[int]:
    """A GPU's NUMA node as host_facts reports it: a node number, -1 when the kernel does not know, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise PlanError("facts.frontier_llm.gpus[%d].numa_node: %r is not a NUMA node number (or -1 for unknown)"
                        % (index, value))
    return value


def _settings(profile: str, overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """A profile's settings with the user's overrides applied and checked."""
    settings = dict(PROFILES[profile])
    settings.update({"ctx": DEFAULT_CTX, "kv_cache_type": "f16", "num_thread": None})
    for key, value in overrides.items():
        if value is not None:
            settings[key] = value
    settings["ctx"] = positive_int(settings["ctx"], "ctx")
    settings["parallel"] = positive_int(settings["parallel"], "parallel")
    settings["max_loaded_models"] = positive_int(settings["max_loaded_models"], "max_loaded_models")
    settings["flash_attention"] = as_bool(settings["flash_attention"], "flash_attention")
    if settings["kv_cache_type"] not in KV_BYTES_PER_ELEMENT:
        raise PlanError("kv_cache_type: %r is unknown; choose one of %s"
                        % (settings["kv_cache_type"], ", ".join(KV_BYTES_PER_ELEMENT)))
    if isinstance(settings["keep_alive"], bool) or not KEEP_ALIVE_RE.match(str(settings["keep_alive"])):
        raise PlanError("keep_alive: %r is not a duration such as '5m' or a number of seconds" % (settings["keep_alive"],))
    if settings["num_thread"] is not None:
        settings["num_thread"] = positive_int(settings["num_thread"], "num_thread")
    return settings


def _component_overrides(components: Any) -> Dict[str, Dict[str, Any]]:
    """Validate ``components`` overrides: {service: {mem_limit_mb|mem_limit, mem_reservation_mb|mem_reservation, cpus}}."""
    if components is None:
        return {}
    if not isinstance(components, Mapping):
        raise PlanError("components: expected a dict of service -> settings, got %r" % (components,))
    known = set(COMPONENTS) | set(ENGINE_SERVICE.values())
    out: Dict[str, Dict[str, Any]] = {}
    for service, values in components.items():
        if service not in known:
            raise PlanError("components: unknown service %r; known: %s" % (service, ", ".join(sorted(known))))
        if not isinstance(values, Mapping):
            raise PlanError("components.%s: expected a dict, got %r" % (service, values))
        unknown = set(values) - set(COMPONENT_KEYS)
        if unknown:
            raise PlanError("components.%s: unknown key(s) %s; known: %s"
                            % (service, ", ".join(sorted(unknown)), ", ".join(COMPONENT_KEYS)))
        entry: Dict[str, Any] = {}
        for kind in ("limit", "reservation"):
            key_mb, key_size = "mem_%s_mb" % kind, "mem_%s" % kind
            if values.get(key_mb) is not None:
                entry[key_mb] = positive_int(values[key_mb], "components.%s.%s" % (service, key_mb))
            elif values.get(key_size) is not None:
                try:
                    entry[key_mb] = to_mib(values[key_size], "components.%s.%s" % (service, key_size))
                except SizeError as err:
                    raise PlanError(str(err)) from None
                if entry[key_mb] == 0:
                    raise PlanError("components.%s.%s: %r must be > 0" % (service, key_size, values[key_size]))
        if entry.get("mem_limit_mb") is not None and entry["mem_limit_mb"] < DOCKER_MIN_MEMORY_MB:
            raise PlanError("components.%s: mem_limit %d MiB is below Docker's minimum of %d MiB"
                            % (service, entry["mem_limit_mb"], DOCKER_MIN_MEMORY_MB))
        if "mem_limit_mb" in entry and "mem_reservation_mb" in entry and entry["mem_reservation_mb"] > entry["mem_limit_mb"]:
            raise PlanError("components.%s: mem_reservation %d MiB is above mem_limit %d MiB"
                            % (service, entry["mem_reservation_mb"], entry["mem_limit_mb"]))
        if values.get("cpus") is not None:
            cpus = values["cpus"]
            if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or cpus <= 0:
                raise PlanError("components.%s.cpus: %r must be a number > 0" % (service, cpus))
            entry["cpus"] = float(cpus)
        out[service] = entry
    return out


def _backend(host: Dict[str, Any], runtime: str) -> Tuple[str, int, int]:
    """(backend, device count, usable VRAM MiB) the engine computes on."""
    if host["system"] == "Darwin":
        if runtime == "native" and host["apple_silicon"]:
            return "metal", 1, int(host["gpu_working_set_mb"] or host["memtotal_mb"] * 2 // 3)
        return "cpu", 0, 0
    vendors = {gpu.get("vendor") for gpu in host["gpus"]}
    if "nvidia" in vendors or "amd" in vendors:
        backend = "cuda" if "nvidia" in vendors else "rocm"
        devices = _backend_gpus(host, backend)
        return backend, len(devices), sum(int(gpu["memory_mb"]) for gpu in devices)
    return "cpu", 0, 0


def _backend_gpus(host: Dict[str, Any], backend: str) -> List[Mapping[str, Any]]:
    """The GPUs the engine computes on with this backend (none for cpu and metal)."""
    vendor = BACKEND_VENDOR.get(backend)
    return [gpu for gpu in host["gpus"] if vendor and gpu.get("vendor") == vendor]


def _size_class(models: List[Dict[str, Any]], budget_mb: int) -> str:
    if budget_mb < LOW_MEMORY_BUDGET_MB:
        return "low_memory"
    largest = max(model["weights_bytes"] for model in models)
    if largest <= SMALL_MAX_WEIGHTS:
        return "small"
    if largest <= MEDIUM_MAX_WEIGHTS:
        return "medium"
    return "large"


def _mib(count: float) -> int:
    return int(math.ceil(count / MIB))


def _numa(host: Dict[str, Any], service: str, limit_mb: int, backend: str) -> Tuple[Dict[str, Any], List[str], List[str]]:
    """Pick the NUMA node(s) of the engine: (numa plan, warnings, notes).

    With GPUs whose NUMA node is known (cuda, rocm), the node(s) they hang off; otherwise, or when those nodes have
    none of the usable CPUs, the fewest nodes whose memory holds the engine, largest first. Either way only the
    usable CPUs (the cgroup's cpuset) are given, and more nodes are added while the chosen ones hold too little memory.
    """
    if len(host["numa_nodes"]) < 2:
        return {}, [], []
    usable = set(host["usable_cpus"] or [])
    # Only the nodes with CPUs the engine may run on (its cgroup's cpuset): never pin it elsewhere.
    nodes = [node for node in host["numa_nodes"] if not usable or usable & set(parse_cpulist(str(node["cpus"])))]
    if not nodes:
        return {}, [], []
    warnings: List[str] = []
    gpu_ids = _gpu_numa_ids(host, backend)
    first = [node for node in nodes if int(node["id"]) in (gpu_ids or [])]
    if gpu_ids and len(gpu_ids) > 1:
        warnings.append("%s: its GPUs hang off NUMA nodes %s: it runs on the CPUs of all of them, and traffic between "
                        "a GPU and another node's CPUs crosses the interconnect" % (service, _ids(gpu_ids)))
    if gpu_ids and not first:
        warnings.append("%s: the NUMA node(s) %s its GPUs hang off have none of its usable CPUs (%s); it is placed "
                        "by memory instead" % (service, _ids(gpu_ids), format_cpulist(usable)))
    if first:
        rule = "the node%s its GPUs hang off (PCI numa_node)" % ("s" if len(first) > 1 else "")
    else:
        rule = "the node(s) with the most memory%s" % (
            "" if backend not in BACKEND_VENDOR else " (the GPUs' NUMA node is unknown)" if not gpu_ids
            else " (the GPUs' node has no usable CPU)")
    chosen = _fill_memory(nodes, first, limit_mb)
    ids = sorted(int(node["id"]) for node in chosen)
    if len(chosen) > max(1, len(first)):
        warnings.append("%s needs %d MiB, more than %s holds: it spans nodes %s, and memory traffic crosses the "
                        "interconnect" % (service, limit_mb, "one NUMA node" if len(first) < 2
                                          else "its GPUs' NUMA nodes", _ids(ids)))
    cpus = sorted(set().union(*(parse_cpulist(str(node["cpus"])) for node in chosen)))
    if usable:
        cpus = [cpu for cpu in cpus if cpu in usable]
    notes = ["NUMA: %s on node%s %s, %s" % (service, "s" if len(ids) > 1 else "", _ids(ids), rule)]
    return {service: {"nodes": ids, "cpuset_cpus": format_cpulist(cpus),
                      "cpuset_mems": _ids(ids), "cpu_count": len(cpus)}}, warnings, notes


def _ids(ids: Any) -> str:
    return ",".join(map(str, ids))


def _gpu_numa_ids(host: Dict[str, Any], backend: str) -> Optional[List[int]]:
    """The NUMA nodes the backend's GPUs hang off, or None when any of them is unknown (-1, not gathered, no such node)."""
    known = {int(node["id"]) for node in host["numa_nodes"]}
    ids = [gpu.get("numa_node") for gpu in _backend_gpus(host, backend)]
    if not ids or any(node is None or node not in known for node in ids):
        return None
    return sorted(set(ids))


def _fill_memory(nodes: List[Mapping[str, Any]], first: List[Mapping[str, Any]], limit_mb: int) -> List[Mapping[str, Any]]:
    """``first``, then the other nodes, largest first, until their memory holds ``limit_mb`` (or none is left)."""
    chosen = list(first)
    rest = sorted((node for node in nodes if node not in first), key=lambda node: (-int(node["memory_mb"]), int(node["id"])))
    for node in rest:
        if chosen and sum(int(n["memory_mb"]) for n in chosen) >= limit_mb:
            break
        chosen.append(node)
    return chosen


PER_MODEL_KEYS = ("ctx", "parallel", "kv_cache_type")
# The variable each engine reads a setting from, for every model it serves (Ollama's server-wide settings).
ENGINE_SETTING_VARS = {
    "ollama": {"ctx": "OLLAMA_CONTEXT_LENGTH", "parallel": "OLLAMA_NUM_PARALLEL", "kv_cache_type": "OLLAMA_KV_CACHE_TYPE"},
    "mistralrs": {"ctx": "context (max_seq_len)", "parallel": "max_seqs", "kv_cache_type": "cache type (f16)"},
}


def _per_model_settings(model_list: List[Any], engine: str, settings: Dict[str, Any]) -> Dict[str, Any]:
    """The settings with the models' own ctx, parallel and kv_cache_type, where the engine can honour them.

    llama-server serves one model, so that model's values are the server's. Ollama and mistral.rs take
    one value for every model they serve: a model's value that differs from it would size the model
    with a setting the engine never receives, so it is refused, naming the model and the setting.
    """
    result = dict(settings)
    for entry in model_list:
        if not isinstance(entry, Mapping):
            continue
        for key in PER_MODEL_KEYS:
            value = entry.get(key)
            if value is None or value == settings[key]:
                continue
            if engine == "llamacpp":
                result[key] = value
            else:
                raise PlanError("model %s: %s %r cannot be honoured: %s has one %s for every model (the plan's is %r); "
                                "set planner_%s for the host instead, or drop the model's %s"
                                % (entry.get("name", "?"), key, value, engine, ENGINE_SETTING_VARS[engine][key],
                                   settings[key], key, key))
    return result


def _plan_for_profile(host: Dict[str, Any], model_list: List[Any], engine: str, profile: str,
                      headroom: float, settings_overrides: Mapping[str, Any],
                      component_overrides: Dict[str, Dict[str, Any]], runtime: str,
                      os_reserve_mb: Optional[int], catalog: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    settings = _settings(profile, settings_overrides)
    backend, devices, vram_mb = _backend(host, runtime)
    warnings: List[str] = []
    notes: List[str] = []
    service = ENGINE_SERVICE[engine]
    mac = host["system"] == "Darwin"

    # Budget
    total_mb = host["effective_mb"]
    docker_desktop: Optional[Dict[str, Any]] = None
    vm_cpus = host["vcpus"]
    if mac and runtime == "container":
        vm_mb = int(host["memtotal_mb"] * DOCKER_DESKTOP_SHARE) // 1024 * 1024
        budget_mb = vm_mb - DOCKER_VM_RESERVE_MB
        vm_cpus = max(1, host["vcpus"] - 2)
        notes.append("Docker Desktop VM: 80%% of %d MiB = %d MiB, less %d MiB for the VM itself"
                     % (host["memtotal_mb"], vm_mb, DOCKER_VM_RESERVE_MB))
        if host["apple_silicon"]:
            warnings.append("containers on macOS get no Metal GPU: %s runs on the CPU in the Docker Desktop VM; "
                            "runtime native runs Ollama on the host with Metal" % service)
    else:
        reserve = os_reserve_mb if os_reserve_mb is not None else _clamp_reserve(
            total_mb, MAC_NATIVE_RESERVE if mac else LINUX_RESERVE)
        budget_mb = total_mb - reserve
        notes.append("budget: %d MiB%s less an OS reserve of %d MiB"
                     % (total_mb, " (cgroup limit)" if host["cgroup_memory_limit_mb"] and
                        host["cgroup_memory_limit_mb"] < host["memtotal_mb"] else "", reserve))
    if budget_mb <= 0:
        raise PlanError("facts.memtotal_mb: %d MiB leaves no memory after the reserves (budget %d MiB)"
                        % (host["memtotal_mb"], budget_mb))

    # Models. The engine receives one value of each setting: a per-model one must be that value.
    settings = _per_model_settings(model_list, engine, settings)
    models: List[Dict[str, Any]] = []
    for entry in model_list:
        per_model = dict(settings)
        if isinstance(entry, Mapping):
            for key in ("ctx", "parallel", "kv_cache_type"):
                if entry.get(key) is not None:
                    per_model[key] = entry[key]
            model_arg: Any = {k: v for k, v in entry.items() if k not in ("ctx", "parallel", "kv_cache_type")}
        else:
            model_arg = entry
        figures = model_memory(model_arg, ctx=per_model["ctx"], parallel=per_model["parallel"],
                               kv_cache_type=per_model["kv_cache_type"], flash_attention=settings["flash_attention"],
                               engine=engine, backend=backend, gpu_count=max(devices, 1), catalog=catalog)
        warnings.extend(figures.pop("warnings"))
        models.append(figures)
    names = [model["name"] for model in models]
    if engine == "llamacpp" and len(models) > 1:
        raise PlanError("models: llamacpp serves one model per server (llama-server -m); got %d: %s. Serve one "
                        "model per host, or choose engine ollama" % (len(models), ", ".join(names)))
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise PlanError("models: %s listed more than once" % ", ".join(duplicates))

    # Engine: the resident set, and what of it stays in RAM.
    resident_count = len(models) if engine == "mistralrs" else min(settings["max_loaded_models"], len(models))
    resident = sorted(models, key=lambda model: model["total_bytes"], reverse=True)[:resident_count]
    resident_bytes = sum(model["total_bytes"] for model in resident)
    if backend in ("cuda", "rocm"):
        gpu_bytes = sum(model["total_bytes"] - RUNTIME_RAM_BYTES - model["host_side_bytes"] for model in resident)
        spill = max(0, gpu_bytes - vram_mb * MIB)
        # In RAM beside what spills: each model's runtime, its embedding table and CPU buffers (llama.cpp keeps
        # the input layer on the CPU), and one load buffer. The model file's mapped pages are page cache, which
        # the kernel reclaims under the container's limit: they are not part of it.
        host_side = sum(RUNTIME_RAM_BYTES + model["host_side_bytes"] for model in resident)
        host_bytes = spill + host_side + GPU_LOAD_BUFFER_BYTES
        largest_host = (max(0, resident[0]["total_bytes"] - vram_mb * MIB) + RUNTIME_RAM_BYTES
                        + resident[0]["host_side_bytes"] + GPU_LOAD_BUFFER_BYTES)
        if spill:
            warnings.append("%s: %d MiB of the resident models do not fit in %d MiB of VRAM on %d GPU(s); "
                            "those layers run on the CPU from RAM" % (service, _mib(spill), vram_mb, devices))
        notes.append("GPU offload: %d MiB in VRAM across %d GPU(s), %d MiB in RAM"
                     % (_mib(gpu_bytes - spill), devices, _mib(host_bytes)))
    else:
        host_bytes = resident_bytes
        largest_host = resident[0]["total_bytes"]
        if backend == "metal" and resident_bytes > vram_mb * MIB:
            warnings.append("%s: the resident models need %d MiB, more than the %d MiB Metal may wire "
                            "(iogpu.wired_limit_mb); the rest runs on the CPU" % (service, _mib(resident_bytes), vram_mb))
    need_mb = _mib(host_bytes * (1 + headroom))
    engine_limit = need_mb
    engine_reservation = min(_mib(largest_host), engine_limit)
    override = component_overrides.get(service, {})
    engine_limit = override.get("mem_limit_mb", engine_limit)
    engine_reservation = override.get("mem_reservation_mb", min(engine_reservation, engine_limit))
    if engine_reservation > engine_limit:
        raise PlanError("components.%s: mem_reservation %d MiB is above mem_limit %d MiB"
                        % (service, engine_reservation, engine_limit))
    if engine_limit < need_mb:
        warnings.append("%s: mem_limit %d MiB is below the %d MiB its resident models need with %d%% headroom"
                        % (service, engine_limit, need_mb, round(headroom * 100)))

    # Monitoring services, scaled down on small budgets: continuously, from half below half the low-memory budget
    # to full at it, so that a budget's share left to the engine never shrinks as the budget grows (more RAM never
    # turns a fitting plan into a refusal).
    scale = min(1.0, max(0.5, budget_mb / float(LOW_MEMORY_BUDGET_MB)))
    components: Dict[str, Dict[str, Any]] = {}
    cpu_pool = float(vm_cpus if mac else host["vcpus"])
    for name, (limit, reservation, cpus) in COMPONENTS.items():
        entry = {"mem_limit_mb": int(limit * scale), "mem_reservation_mb": int(reservation * scale),
                 "cpus": min(cpus, cpu_pool)}
        override_entry = component_overrides.get(name, {})
        entry.update(override_entry)
        if "mem_reservation_mb" not in override_entry:
            # A limit given alone lowers the default reservation with it, for every service alike.
            entry["mem_reservation_mb"] = min(entry["mem_reservation_mb"], entry["mem_limit_mb"])
        if entry["mem_reservation_mb"] > entry["mem_limit_mb"]:
            raise PlanError("components.%s: mem_reservation %d MiB is above mem_limit %d MiB"
                            % (name, entry["mem_reservation_mb"], entry["mem_limit_mb"]))
        components[name] = entry
    monitoring_mb = sum(entry["mem_limit_mb"] for entry in components.values())

    native = runtime == "native"
    engine_cpus = float(host["vcpus"] if native else max(1.0, cpu_pool - 1.0))
    engine_cpus = override.get("cpus", engine_cpus)
    numa, numa_warnings = ({}, [])
    if not mac and not native:
        numa, numa_warnings, numa_notes = _numa(host, service, engine_limit, backend)
        warnings.extend(numa_warnings)
        notes.extend(numa_notes)
        if numa:
            engine_cpus = min(engine_cpus, float(numa[service]["cpu_count"]))
    components = dict([(service, {"mem_limit_mb": engine_limit, "mem_reservation_mb": engine_reservation,
                                  "cpus": engine_cpus, "native": native})] + list(components.items()))
    cores = host["performance_cores"] if mac and native and host["performance_cores"] else host["physical_cores"]
    threads = settings["num_thread"] or max(1, min(cores, int(engine_cpus)))

    # Fit
    if mac and native:
        vm_mb = int(math.ceil((monitoring_mb + DOCKER_VM_RESERVE_MB) / 1024.0)) * 1024
        used_mb = engine_limit + vm_mb
        notes.append("Docker Desktop VM holds only the monitoring services: %d MiB" % vm_mb)
    else:
        used_mb = engine_limit + monitoring_mb
    fits = used_mb <= budget_mb
    if not fits:
        warnings.insert(0, "does not fit: %s needs %d MiB (%s resident: %s) and monitoring %d MiB, %d MiB in all, "
                           "over the %d MiB budget by %d MiB"
                        % (service, engine_limit, resident_count, ", ".join(m["name"] for m in resident),
                           monitoring_mb, used_mb, budget_mb, used_mb - budget_mb))
    if mac:
        disk_mib = max(200 * 1024, _mib(sum(m["weights_bytes"] for m in models) * 1.5) + 50 * 1024)
        docker_desktop = {
            "memory_mib": vm_mb,
            "cpus": vm_cpus if not native else max(1, min(4, host["vcpus"] - 2)),
            "swap_mib": 4096 if host["memtotal_mb"] >= 64 * 1024 else 2048,
            "disk_size_mib": disk_mib,
        }

    env: Dict[str, str] = {"OMP_NUM_THREADS": str(threads)}
    if engine == "ollama":
        env.update({
            "OLLAMA_MEMORY_LIMIT": docker_mib(engine_limit),
            "OLLAMA_MEMORY_RESERVATION": docker_mib(engine_reservation),
            "OLLAMA_NUM_PARALLEL": str(settings["parallel"]),
            "OLLAMA_MAX_LOADED_MODELS": str(settings["max_loaded_models"]),
            "OLLAMA_KEEP_ALIVE": str(settings["keep_alive"]),
            "OLLAMA_FLASH_ATTENTION": "true" if settings["flash_attention"] else "false",
            "OLLAMA_KV_CACHE_TYPE": settings["kv_cache_type"] if settings["flash_attention"] else "f16",
            "OLLAMA_CONTEXT_LENGTH": str(settings["ctx"]),
            "OLLAMA_NUM_THREAD": str(threads),
        })
    elif engine == "llamacpp":
        # llama-server's own variables (tools/server/README.md of llama.cpp): -c is the context
        # of all slots together, so each of the --parallel slots gets ctx.
        quantized = settings["flash_attention"] and settings["kv_cache_type"] != "f16"
        env.update({
            "LLAMA_ARG_CTX_SIZE": str(models[0]["ctx"] * settings["parallel"]),
            "LLAMA_ARG_N_PARALLEL": str(settings["parallel"]),
            "LLAMA_ARG_THREADS": str(threads),
            "LLAMA_ARG_FLASH_ATTN": "on" if settings["flash_attention"] else "off",
            "LLAMA_ARG_CACHE_TYPE_K": settings["kv_cache_type"] if quantized else "f16",
            "LLAMA_ARG_CACHE_TYPE_V": settings["kv_cache_type"] if quantized else "f16",
            "LLAMA_ARG_ENDPOINT_METRICS": "1",
        })
    else:
        # mistral.rs takes its settings from its TOML file (max_seqs, each model's max_seq_len: the stack writes it
        # from this plan); its CPU kernels run on rayon's pool, which reads RAYON_NUM_THREADS.
        env["RAYON_NUM_THREADS"] = str(threads)
        notes.append("mistral.rs: max_seqs %d and each model's max_seq_len go into its TOML file; its cache is f16 "
                     "and grows with each sequence, so a prompt longer than ctx %d would take more than planned"
                     % (settings["parallel"], settings["ctx"]))
    for model in models:
        model["fits_gpu"] = backend != "cpu" and model["total_bytes"] <= vram_mb * MIB
    return {
        "profile": profile,
        "engine": engine,
        "runtime": "native" if native else "container",
        "backend": backend,
        "budget_mb": budget_mb,
        "used_mb": used_mb,
        "headroom": headroom,
        "settings": settings,
        "components": components,
        "env": env,
        "models": models,
        "resident_models": [model["name"] for model in resident],
        "docker_desktop": docker_desktop,
        "numa": numa,
        "host": dict(((key, host[key]) for key in ("system", "memtotal_mb", "effective_mb", "vcpus", "physical_cores")),
                     gpus=len(host["gpus"]), vram_mb=vram_mb, numa_nodes=len(host["numa_nodes"]) or 1),
        "fits": fits,
        "warnings": warnings,
        "notes": notes,
    }


def resource_plan(facts: Any, models: Any = None, engine: str = "ollama", profile: str = "auto",
                  headroom: Any = 0.2, runtime: str = "auto", ctx: Any = None, parallel: Any = None,
                  max_loaded_models: Any = None, keep_alive: Any = None, flash_attention: Any = None,
                  kv_cache_type: Any = None, num_thread: Any = None, components: Any = None,
                  os_reserve_mb: Any = None, catalog: Optional[Mapping[str, Any]] = None,
                  _no_suggestions: bool = False) -> Dict[str, Any]:
    """Plan one host's stack.

    :param facts: ``ansible_facts`` (``memtotal_mb``, ``processor_vcpus``, ``system``, ...) with
        the ``frontier_llm`` facts of ``frontier.llm.host_facts``.
    :param models: catalog tags or metadata dicts; a dict may also carry ``ctx``,
        ``parallel`` or ``kv_cache_type`` for that model.
    :param engine: ``ollama``, ``mistralrs`` or ``llamacpp`` (llama.cpp's ``llama-server``, one model).
    :param profile: ``auto`` or one of :data:`PROFILES`.
    :param headroom: the share added to the engine's need for peaks, in [0, 1).
    :param runtime: ``container``, ``native`` (a host Ollama; macOS only) or ``auto`` (container).
    :param components: per-service overrides: ``mem_limit_mb`` / ``mem_limit`` (a size),
        ``mem_reservation_mb`` / ``mem_reservation``, ``cpus``.
    :returns: the plan; see the filter's documentation for its keys.
    """
    if engine not in ENGINES:
        raise PlanError("engine: %r is unknown; choose one of %s" % (engine, ", ".join(ENGINES)))
    if profile != "auto" and profile not in PROFILES:
        raise PlanError("profile: %r is unknown; choose auto or one of %s" % (profile, ", ".join(PROFILES)))
    if runtime not in RUNTIMES:
        raise PlanError("runtime: %r is unknown; choose one of %s" % (runtime, ", ".join(RUNTIMES)))
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or not 0 <= headroom < 1:
        raise PlanError("headroom: %r must be a number in [0, 1)" % (headroom,))
    if models is None or isinstance(models, (str, Mapping)) or not isinstance(models, (list, tuple)) or not models:
        raise PlanError("models: %r must be a non-empty list of catalog tags or metadata dicts" % (models,))
    if catalog is not None and not isinstance(catalog, Mapping):
        raise PlanError("catalog: expected a dict of tag -> metadata, got %r" % (catalog,))
    host = _host(facts)
    if runtime == "auto":
        runtime = "container"
    if runtime == "native" and engine != "ollama":
        raise PlanError("runtime: 'native' runs Ollama on the Mac (the macos role); %s does not run natively yet: use "
                        "runtime container, or engine ollama" % engine)
    if runtime == "native" and host["system"] != "Darwin":
        raise PlanError("runtime: 'native' is for macOS hosts (a host Ollama using Metal); %s runs the engine in a "
                        "container" % host["system"])
    if os_reserve_mb is not None:
        os_reserve_mb = positive_int(os_reserve_mb, "os_reserve_mb", allow_zero=True)
    overrides = {"ctx": ctx, "parallel": parallel, "max_loaded_models": max_loaded_models, "keep_alive": keep_alive,
                 "flash_attention": flash_attention, "kv_cache_type": kv_cache_type, "num_thread": num_thread}
    component_overrides = _component_overrides(components)
    for service, entry in component_overrides.items():
        if entry.get("cpus", 0) > host["vcpus"]:
            raise PlanError("components.%s.cpus: %r is more than the host's %d vCPUs" % (service, entry["cpus"], host["vcpus"]))

    def attempt(name: str) -> Dict[str, Any]:
        return _plan_for_profile(host, list(models), engine, name, float(headroom), overrides,
                                 component_overrides, runtime, os_reserve_mb, catalog)

    plan = attempt(profile) if profile != "auto" else _auto(attempt)
    if not plan["fits"] and not _no_suggestions:
        suggestions = _suggestions(facts, list(models), plan, catalog,
                                   dict(engine=engine, profile=profile, headroom=headroom, runtime=runtime, ctx=ctx,
                                        parallel=parallel, max_loaded_models=max_loaded_models, keep_alive=keep_alive,
                                        flash_attention=flash_attention, kv_cache_type=kv_cache_type,
                                        num_thread=num_thread, components=components, os_reserve_mb=os_reserve_mb))
        plan["suggestions"] = suggestions
        plan["warnings"][0] += ("; it would fit with " + ", or with ".join(suggestions) if suggestions
                                else "; no smaller context, cache or catalog model fits this host")
    return plan


def _auto(attempt: Callable[[str], Dict[str, Any]]) -> Dict[str, Any]:
    """Profile auto: from the models' size class down to the most conservative profile that fits."""
    first = attempt("large")  # any profile: to learn the budget and model weights
    start = _size_class(first["models"], first["budget_mb"])
    tried: List[str] = []
    plan = first
    for name in AUTO_ORDER[AUTO_ORDER.index(start):]:
        plan = attempt(name)
        tried.append(name)
        if plan["fits"]:
            break
    plan["notes"].insert(0, "profile auto: size class %s, tried %s, chose %s" % (start, ", ".join(tried), plan["profile"]))
    return plan


def _suggestions(facts: Any, models: List[Any], plan: Mapping[str, Any], catalog: Optional[Mapping[str, Any]],
                 args: Dict[str, Any]) -> List[str]:
    """What would make a refused plan fit on this host: a smaller context, a q8_0 cache, a smaller model.

    Each is planned for real (the same host, the other settings unchanged); only those that fit are named.
    """
    def fits(**change: Any) -> bool:
        try:
            return bool(resource_plan(facts, **dict(args, _no_suggestions=True, catalog=catalog, **change))["fits"])
        except PlanError:
            return False

    found: List[str] = []
    ctx = int(plan["settings"]["ctx"])
    smaller = ctx // 2
    while smaller >= 1024:
        if fits(models=models, ctx=smaller):
            found.append("planner_ctx: %d" % smaller)
            break
        smaller //= 2
    if plan["settings"]["kv_cache_type"] == "f16" and fits(models=models, kv_cache_type="q8_0", flash_attention=True):
        found.append("planner_kv_cache_type: q8_0 and planner_flash_attention: true")
    if len(models) > 1 and fits(models=models[:1]):
        found.append("only %s" % plan["models"][0]["name"] if plan["models"] else "fewer models")
    largest = max(model["weights_bytes"] for model in plan["models"])
    for tag in sorted(MODELS, key=lambda name: -(MODELS[name].get("file_bytes") or 0)):
        size = MODELS[tag].get("file_bytes") or 0
        if size and size < largest and fits(models=[tag]):
            found.append("a smaller model such as %s" % tag)
            break
    return found
