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
  plus node-exporter 128M/64M (ours), scaled in proportion to budgets under 16 GiB, to half at 8 GiB.
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
from collections import abc
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ansible_collections.frontier.llm.plugins.module_utils.catalog import MODELS
from ansible_collections.frontier.llm.plugins.module_utils.hostinfo import format_cpulist, parse_cpulist
from ansible_collections.frontier.llm.plugins.module_utils.sizing import (
    ENGINE_SERVICE,
    RUNTIME_RAM_BYTES,
    PlanError,
    as_bool,
    check_engine,
    check_kv_cache_type,
    positive_int,
    resolve_model,
    size_checked,
    size_model,
    weights_bytes,
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
    # mtail: the gateway's metrics from Nginx's access log; a few MiB (a Go binary and a handful of series per key).
    "mtail": (64, 32, 0.25),
    # Alertmanager (when deployed): tens of MiB for a handful of alerts and silences.
    "alertmanager": (128, 64, 0.25),
    # The blackbox exporter: the engine's health probe (LLMEngineDown); a Go binary of about 15-20 MiB probing one
    # target every scrape interval.
    "blackbox_exporter": (64, 32, 0.25),
}
# Budgeted on NVIDIA hosts only: NVIDIA's dcgm-exporter (the GPUs' memory, use, temperature and errors), which holds
# DCGM's host engine: a few hundred MiB.
CUDA_COMPONENTS: Dict[str, Tuple[int, int, float]] = {"dcgm_exporter": (512, 128, 0.5)}
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
    if not isinstance(facts, abc.Mapping):
        raise PlanError("facts: expected a dict of host facts (ansible_facts), got %r" % (type(facts).__name__,))
    if "memtotal_mb" not in facts:
        raise PlanError("facts: memtotal_mb is missing (gather facts with ansible.builtin.setup, "
                        "or give frontier_llm_facts for an offline plan)")
    memtotal = positive_int(facts["memtotal_mb"], "facts.memtotal_mb")
    ours = facts.get("frontier_llm") or {}
    if not isinstance(ours, abc.Mapping):
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
        if not isinstance(gpu, abc.Mapping) or "memory_mb" not in gpu:
            raise PlanError("facts.frontier_llm.gpus[%d]: expected a dict with memory_mb, got %r" % (index, gpu))
        positive_int(gpu["memory_mb"], "facts.frontier_llm.gpus[%d].memory_mb" % index)
        _gpu_numa_node(gpu.get("numa_node"), index)
    nodes = list(ours.get("numa_nodes") or [])
    for index, node in enumerate(nodes):
        if not isinstance(node, abc.Mapping) or not {"id", "cpus", "memory_mb"} <= set(node):
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


def _check_overrides(overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """The settings the user gives (those not None), checked and converted: once per plan, whatever the profiles tried.

    Checked in the same order as the settings they override, so the first error named is the same for every profile
    (each profile's own values are valid).
    """
    checked = {key: value for key, value in overrides.items() if value is not None}
    for key in ("ctx", "parallel", "max_loaded_models"):
        if key in checked:
            checked[key] = positive_int(checked[key], key)
    if "flash_attention" in checked:
        checked["flash_attention"] = as_bool(checked["flash_attention"], "flash_attention")
    if "kv_cache_type" in checked:
        check_kv_cache_type(checked["kv_cache_type"])
    keep_alive = checked.get("keep_alive")
    if keep_alive is not None and (isinstance(keep_alive, bool) or not KEEP_ALIVE_RE.match(str(keep_alive))):
        raise PlanError("keep_alive: %r is not a duration such as '5m' or a number of seconds" % (keep_alive,))
    if "num_thread" in checked:
        checked["num_thread"] = positive_int(checked["num_thread"], "num_thread")
    return checked


def _settings(profile: str, overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """A profile's settings with the user's overrides applied (checked before, by :func:`_check_overrides`)."""
    settings = dict(PROFILES[profile])
    settings.update({"ctx": DEFAULT_CTX, "kv_cache_type": "f16", "num_thread": None})
    settings.update(overrides)
    return settings


def _component_overrides(components: Any) -> Dict[str, Dict[str, Any]]:
    """Validate ``components`` overrides: {service: {mem_limit_mb|mem_limit, mem_reservation_mb|mem_reservation, cpus}}."""
    if components is None:
        return {}
    if not isinstance(components, abc.Mapping):
        raise PlanError("components: expected a dict of service -> settings, got %r" % (components,))
    known = set(COMPONENTS) | set(CUDA_COMPONENTS) | set(ENGINE_SERVICE.values())
    out: Dict[str, Dict[str, Any]] = {}
    for service, values in components.items():
        if service not in known:
            raise PlanError("components: unknown service %r; known: %s" % (service, ", ".join(sorted(known))))
        if not isinstance(values, abc.Mapping):
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
        if "mem_limit_mb" in entry and "mem_reservation_mb" in entry:
            _check_reservation(service, entry["mem_reservation_mb"], entry["mem_limit_mb"])
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
        if isinstance(entry, str) or not isinstance(entry, abc.Mapping):  # a tag, the common case, tested first
            continue
        for key in PER_MODEL_KEYS:
            value = entry.get(key)
            if value is None or value == settings[key]:
                continue
            if engine == "llamacpp":
                # A number as text ("2") is read as the number, as the host-wide settings are: the env and the sizing
                # then agree (the text once went into LLAMA_ARG_CTX_SIZE as "2" repeated ctx times).
                result[key] = positive_int(value, "model %s: %s" % (entry.get("name", "?"), key)) \
                    if key in ("ctx", "parallel") else value
            else:
                raise PlanError("model %s: %s %r cannot be honoured: %s has one %s for every model (the plan's is %r); "
                                "set planner_%s for the host instead, or drop the model's %s"
                                % (entry.get("name", "?"), key, value, engine, ENGINE_SETTING_VARS[engine][key],
                                   settings[key], key, key))
    return result


class _Request(NamedTuple):
    """What every profile of one resource_plan call shares: the validated arguments, the host and its budget."""

    host: Dict[str, Any]
    model_list: List[Any]
    engine: str
    service: str
    headroom: float
    overrides: Mapping[str, Any]
    component_overrides: Dict[str, Dict[str, Any]]
    runtime: str
    backend: Tuple[str, int, int]
    budget: Dict[str, Any]
    resolve: Callable[[int], Tuple[str, Dict[str, Any], List[str]]]
    # Steps already taken for this request: the monitoring services, and each profile's sizing and fit.
    memo: Dict[str, Any]
    # Each model's figures by the settings it is sized with; shared by the plan and its suggestions (see _size_models).
    sizes: Dict[Tuple[Any, ...], Tuple[Any, Dict[str, Any], List[str]]]


def _budget(host: Dict[str, Any], runtime: str, os_reserve_mb: Optional[int], service: str) -> Dict[str, Any]:
    """The memory the stack may use (MiB), the CPUs of the pool it runs in, and the notes and warnings saying why."""
    mac = host["system"] == "Darwin"
    budget: Dict[str, Any] = {"vm_mb": None, "vm_cpus": host["vcpus"], "notes": [], "warnings": []}
    if mac and runtime == "container":
        vm_mb = int(host["memtotal_mb"] * DOCKER_DESKTOP_SHARE) // 1024 * 1024
        budget.update(vm_mb=vm_mb, budget_mb=vm_mb - DOCKER_VM_RESERVE_MB, vm_cpus=max(1, host["vcpus"] - 2))
        budget["notes"].append("Docker Desktop VM: 80%% of %d MiB = %d MiB, less %d MiB for the VM itself"
                               % (host["memtotal_mb"], vm_mb, DOCKER_VM_RESERVE_MB))
        if host["apple_silicon"]:
            budget["warnings"].append("containers on macOS get no Metal GPU: %s runs on the CPU in the Docker Desktop "
                                      "VM; runtime native runs Ollama on the host with Metal" % service)
    else:
        total_mb = host["effective_mb"]
        reserve = os_reserve_mb if os_reserve_mb is not None else _clamp_reserve(
            total_mb, MAC_NATIVE_RESERVE if mac else LINUX_RESERVE)
        budget["budget_mb"] = total_mb - reserve
        budget["notes"].append("budget: %d MiB%s less an OS reserve of %d MiB"
                               % (total_mb, " (cgroup limit)" if host["cgroup_memory_limit_mb"] and
                                  host["cgroup_memory_limit_mb"] < host["memtotal_mb"] else "", reserve))
    if budget["budget_mb"] <= 0:
        raise PlanError("facts.memtotal_mb: %d MiB leaves no memory after the reserves (budget %d MiB)"
                        % (host["memtotal_mb"], budget["budget_mb"]))
    return budget


# The built-in catalog's tags, resolved: the same for every plan of the process (the planner never changes them).
_CATALOG_RESOLVED: Dict[str, Tuple[str, Dict[str, Any], List[str]]] = {}


def _resolver(model_list: List[Any], catalog: Optional[Mapping[str, Any]]) -> Callable[[int], Tuple[str, Dict[str, Any], List[str]]]:
    """Resolve each model (by its index) once, however many profiles size it; an error is raised again each time."""
    cache: Dict[int, Any] = {}

    def resolve(index: int) -> Tuple[str, Dict[str, Any], List[str]]:
        if index not in cache:
            try:
                cache[index] = _resolve(model_list[index], catalog)
            except PlanError as err:
                cache[index] = err
        if isinstance(cache[index], PlanError):
            raise cache[index]
        return cache[index]
    return resolve


def _resolve(entry: Any, catalog: Optional[Mapping[str, Any]]) -> Tuple[str, Dict[str, Any], List[str]]:
    """A model's (name, metadata, warnings); a tag of the built-in catalog is resolved once per process."""
    if catalog or not isinstance(entry, str) or entry not in MODELS:
        return resolve_model(_model_arg(entry), catalog)
    if entry not in _CATALOG_RESOLVED:
        _CATALOG_RESOLVED[entry] = resolve_model(entry)
    return _CATALOG_RESOLVED[entry]


def _model_arg(entry: Any) -> Any:
    """A model as the sizing takes it: a tag, or its metadata without the per-model settings."""
    if isinstance(entry, abc.Mapping):
        return {key: value for key, value in entry.items() if key not in PER_MODEL_KEYS}
    return entry


def _size_models(request: _Request, settings: Dict[str, Any], checked: bool) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Each model's memory with the settings it is served with, and the sizing's warnings; one engine, no duplicates.

    ``checked``: the settings are the plan's own, checked; else (a model's own values) each sizing checks them.
    """
    backend, devices, _vram_mb = request.backend
    gpu_count = max(devices, 1)
    shared = (settings["ctx"], settings["parallel"], settings["kv_cache_type"], settings["flash_attention"])
    models: List[Dict[str, Any]] = []
    warnings: List[str] = []
    for index, entry in enumerate(request.model_list):
        resolved = request.resolve(index)
        own = {}
        if not isinstance(entry, str) and isinstance(entry, abc.Mapping):  # a tag, the common case, tested first
            own = {key: entry[key] for key in PER_MODEL_KEYS if entry.get(key) is not None}
        if own or not checked:
            # The model's own values are the user's, not yet checked: size_model checks them.
            per_model = dict(settings, **own)
            figures = size_model(resolved, ctx=per_model["ctx"], parallel=per_model["parallel"],
                                 kv_cache_type=per_model["kv_cache_type"], flash_attention=settings["flash_attention"],
                                 engine=request.engine, backend=backend, gpu_count=gpu_count)
            model_warnings = figures.pop("warnings")
        else:
            # The plan's settings, checked once: the figures of one model and settings are made once per plan, however
            # many profiles and suggestions size them (the key holds the resolved model, so its id is not reused).
            key = (id(resolved),) + shared
            sized = request.sizes.get(key)
            if sized is None:
                figures = size_checked(resolved, *shared, engine=request.engine, backend=backend, gpu_count=gpu_count)
                sized = request.sizes[key] = (resolved, figures, figures.pop("warnings"))
            _resolved, figures, model_warnings = sized
        warnings.extend(model_warnings)
        models.append(figures)
    names = [model["name"] for model in models]
    if request.engine == "llamacpp" and len(models) > 1:
        raise PlanError("models: llamacpp serves one model per server (llama-server -m); got %d: %s. Serve one "
                        "model per host, or choose engine ollama" % (len(models), ", ".join(names)))
    duplicates = sorted({name for name in names if names.count(name) > 1}) if len(set(names)) < len(names) else []
    if duplicates:
        raise PlanError("models: %s listed more than once" % ", ".join(duplicates))
    return models, warnings


def _engine_memory(request: _Request, settings: Dict[str, Any], models: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The engine's resident models and what of them stays in RAM: its limit and reservation, and the figures its
    warnings and notes (:func:`_engine_texts`) are made of."""
    backend, _devices, vram_mb = request.backend
    service = request.service
    resident_count = len(models) if request.engine == "mistralrs" else min(settings["max_loaded_models"], len(models))
    resident = sorted(models, key=lambda model: model["total_bytes"], reverse=True)[:resident_count]
    memory: Dict[str, Any] = {"resident": resident, "gpu_bytes": 0, "spill": 0}
    if backend in BACKEND_VENDOR:
        gpu_bytes = sum(model["total_bytes"] - RUNTIME_RAM_BYTES - model["host_side_bytes"] for model in resident)
        spill = max(0, gpu_bytes - vram_mb * MIB)
        # In RAM beside what spills: each model's runtime, its embedding table and CPU buffers (llama.cpp keeps
        # the input layer on the CPU), and one load buffer. The model file's mapped pages are page cache, which
        # the kernel reclaims under the container's limit: they are not part of it.
        host_side = sum(RUNTIME_RAM_BYTES + model["host_side_bytes"] for model in resident)
        host_bytes = spill + host_side + GPU_LOAD_BUFFER_BYTES
        largest_host = (max(0, resident[0]["total_bytes"] - vram_mb * MIB) + RUNTIME_RAM_BYTES
                        + resident[0]["host_side_bytes"] + GPU_LOAD_BUFFER_BYTES)
        memory.update(gpu_bytes=gpu_bytes, spill=spill)
    else:
        host_bytes = sum(model["total_bytes"] for model in resident)
        largest_host = resident[0]["total_bytes"]
    need_mb = _mib(host_bytes * (1 + request.headroom))
    override = request.component_overrides.get(service, {})
    memory.update(host_bytes=host_bytes, need_mb=need_mb, limit_mb=override.get("mem_limit_mb", need_mb))
    memory["reservation_mb"] = override.get("mem_reservation_mb", min(_mib(largest_host), need_mb, memory["limit_mb"]))
    _check_reservation(service, memory["reservation_mb"], memory["limit_mb"])
    return memory


def _engine_texts(request: _Request, memory: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    """The warnings and notes of the engine's memory: only the chosen profile's plan needs them, not each fit tried."""
    backend, devices, vram_mb = request.backend
    service = request.service
    warnings: List[str] = []
    notes: List[str] = []
    if backend in BACKEND_VENDOR:
        if memory["spill"]:
            warnings.append("%s: %d MiB of the resident models do not fit in %d MiB of VRAM on %d GPU(s); "
                            "those layers run on the CPU from RAM" % (service, _mib(memory["spill"]), vram_mb, devices))
        notes.append("GPU offload: %d MiB in VRAM across %d GPU(s), %d MiB in RAM"
                     % (_mib(memory["gpu_bytes"] - memory["spill"]), devices, _mib(memory["host_bytes"])))
    elif backend == "metal" and memory["host_bytes"] > vram_mb * MIB:
        warnings.append("%s: the resident models need %d MiB, more than the %d MiB Metal may wire "
                        "(iogpu.wired_limit_mb); the rest runs on the CPU"
                        % (service, _mib(memory["host_bytes"]), vram_mb))
    if memory["limit_mb"] < memory["need_mb"]:
        warnings.append("%s: mem_limit %d MiB is below the %d MiB its resident models need with %d%% headroom"
                        % (service, memory["limit_mb"], memory["need_mb"], round(request.headroom * 100)))
    return warnings, notes


def _check_reservation(service: str, reservation_mb: int, limit_mb: int) -> None:
    """The one limit/reservation check: Docker refuses a mem_reservation above the mem_limit."""
    if reservation_mb > limit_mb:
        raise PlanError("components.%s: mem_reservation %d MiB is above mem_limit %d MiB" % (service, reservation_mb, limit_mb))


def _monitoring(request: _Request) -> Dict[str, Dict[str, Any]]:
    """The monitoring services' limits, reservations and CPUs, with the user's overrides.

    Scaled down on small budgets: continuously, from half below half the low-memory budget to full at it, so that a
    budget's share left to the engine never shrinks as the budget grows (more RAM never turns a fitting plan into a
    refusal).
    """
    scale = min(1.0, max(0.5, request.budget["budget_mb"] / float(LOW_MEMORY_BUDGET_MB)))
    pool = _cpu_pool(request)
    components: Dict[str, Dict[str, Any]] = {}
    wanted = dict(COMPONENTS, **(CUDA_COMPONENTS if request.backend[0] == "cuda" else {}))
    for name, (limit, reservation, cpus) in wanted.items():
        # Each default reservation is below its limit, and stays so scaled: only an override needs the checks below.
        entry = {"mem_limit_mb": int(limit * scale), "mem_reservation_mb": int(reservation * scale),
                 "cpus": min(cpus, pool)}
        override_entry = request.component_overrides.get(name)
        if override_entry:
            entry.update(override_entry)
            if "mem_reservation_mb" not in override_entry:
                # A limit given alone lowers the default reservation with it, for every service alike.
                entry["mem_reservation_mb"] = min(entry["mem_reservation_mb"], entry["mem_limit_mb"])
            _check_reservation(name, entry["mem_reservation_mb"], entry["mem_limit_mb"])
        components[name] = entry
    return components


def _cpu_pool(request: _Request) -> float:
    """The CPUs the containers share: the Docker Desktop VM's on macOS, else the host's."""
    return float(request.budget["vm_cpus"] if request.host["system"] == "Darwin" else request.host["vcpus"])


def _placement(request: _Request, settings: Dict[str, Any], limit_mb: int) -> Dict[str, Any]:
    """The engine's CPUs, NUMA node(s) and threads, with NUMA's warnings and notes."""
    host, service = request.host, request.service
    mac, native = host["system"] == "Darwin", request.runtime == "native"
    cpus = float(host["vcpus"] if native else max(1.0, _cpu_pool(request) - 1.0))
    cpus = request.component_overrides.get(service, {}).get("cpus", cpus)
    numa: Dict[str, Any] = {}
    warnings: List[str] = []
    notes: List[str] = []
    if not mac and not native:
        numa, warnings, notes = _numa(host, service, limit_mb, request.backend[0])
        if numa:
            cpus = min(cpus, float(numa[service]["cpu_count"]))
    cores = host["performance_cores"] if mac and native and host["performance_cores"] else host["physical_cores"]
    threads = settings["num_thread"] or max(1, min(cores, int(cpus)))
    return {"cpus": cpus, "numa": numa, "threads": threads, "warnings": warnings, "notes": notes}


def _fit(request: _Request, memory: Dict[str, Any], monitoring_mb: int) -> Dict[str, Any]:
    """Whether the limits stay within the budget: the memory used, the Docker Desktop VM of a native Mac."""
    fit: Dict[str, Any] = {"vm_mb": request.budget["vm_mb"], "notes": [], "monitoring_mb": monitoring_mb}
    if request.host["system"] == "Darwin" and request.runtime == "native":
        fit["vm_mb"] = int(math.ceil((monitoring_mb + DOCKER_VM_RESERVE_MB) / 1024.0)) * 1024
        fit["notes"].append("Docker Desktop VM holds only the monitoring services: %d MiB" % fit["vm_mb"])
        fit["used_mb"] = memory["limit_mb"] + fit["vm_mb"]
    else:
        fit["used_mb"] = memory["limit_mb"] + monitoring_mb
    fit["fits"] = fit["used_mb"] <= request.budget["budget_mb"]
    return fit


def _refusal(request: _Request, memory: Dict[str, Any], fit: Dict[str, Any]) -> Optional[str]:
    """The warning of a plan that does not fit (None when it fits): what needs how much, over the budget by how much."""
    if fit["fits"]:
        return None
    resident = memory["resident"]
    budget_mb = request.budget["budget_mb"]
    return ("does not fit: %s needs %d MiB (%s resident: %s) and monitoring %d MiB, %d MiB in all, "
            "over the %d MiB budget by %d MiB"
            % (request.service, memory["limit_mb"], len(resident), ", ".join(m["name"] for m in resident),
               fit["monitoring_mb"], fit["used_mb"], budget_mb, fit["used_mb"] - budget_mb))


def _docker_desktop(request: _Request, models: List[Dict[str, Any]], vm_mb: int) -> Optional[Dict[str, Any]]:
    """The Docker Desktop VM's settings on macOS (None elsewhere)."""
    host = request.host
    if host["system"] != "Darwin":
        return None
    return {
        "memory_mib": vm_mb,
        "cpus": request.budget["vm_cpus"] if request.runtime != "native" else max(1, min(4, host["vcpus"] - 2)),
        "swap_mib": 4096 if host["memtotal_mb"] >= 64 * 1024 else 2048,
        "disk_size_mib": max(200 * 1024, _mib(sum(m["weights_bytes"] for m in models) * 1.5) + 50 * 1024),
    }


def _env(engine: str, settings: Dict[str, Any], models: List[Dict[str, Any]], memory: Dict[str, Any],
         threads: int) -> Tuple[Dict[str, str], List[str]]:
    """The variables the engine reads, and a note where they are not the whole story."""
    env: Dict[str, str] = {"OMP_NUM_THREADS": str(threads)}
    if engine == "ollama":
        env.update({
            "OLLAMA_MEMORY_LIMIT": docker_mib(memory["limit_mb"]),
            "OLLAMA_MEMORY_RESERVATION": docker_mib(memory["reservation_mb"]),
            "OLLAMA_NUM_PARALLEL": str(settings["parallel"]),
            "OLLAMA_MAX_LOADED_MODELS": str(settings["max_loaded_models"]),
            "OLLAMA_KEEP_ALIVE": str(settings["keep_alive"]),
            "OLLAMA_FLASH_ATTENTION": "true" if settings["flash_attention"] else "false",
            "OLLAMA_KV_CACHE_TYPE": settings["kv_cache_type"] if settings["flash_attention"] else "f16",
            "OLLAMA_CONTEXT_LENGTH": str(settings["ctx"]),
            "OLLAMA_NUM_THREAD": str(threads),
        })
        return env, []
    if engine == "llamacpp":
        # llama-server's own variables (tools/server/README.md of llama.cpp): -c is the context
        # of all slots together, so each of the --parallel slots gets ctx.
        cache = settings["kv_cache_type"] if settings["flash_attention"] and settings["kv_cache_type"] != "f16" else "f16"
        env.update({
            "LLAMA_ARG_CTX_SIZE": str(models[0]["ctx"] * settings["parallel"]),
            "LLAMA_ARG_N_PARALLEL": str(settings["parallel"]),
            "LLAMA_ARG_THREADS": str(threads),
            "LLAMA_ARG_FLASH_ATTN": "on" if settings["flash_attention"] else "off",
            "LLAMA_ARG_CACHE_TYPE_K": cache,
            "LLAMA_ARG_CACHE_TYPE_V": cache,
            "LLAMA_ARG_ENDPOINT_METRICS": "1",
        })
        return env, []
    # mistral.rs takes its settings from its TOML file (max_seqs, each model's max_seq_len: the stack writes it
    # from this plan); its CPU kernels run on rayon's pool, which reads RAYON_NUM_THREADS.
    env["RAYON_NUM_THREADS"] = str(threads)
    return env, ["mistral.rs: max_seqs %d and each model's max_seq_len go into its TOML file; its cache is f16 "
                 "and grows with each sequence, so a prompt longer than ctx %d would take more than planned"
                 % (settings["parallel"], settings["ctx"])]


def _sized(request: _Request, profile: str) -> Dict[str, Any]:
    """The steps that decide whether a profile fits: settings, models, engine memory, monitoring, fit (once each).

    Only figures: the texts of the chosen profile are made by :func:`_plan_for_profile`.
    """
    if profile not in request.memo:
        checked = _settings(profile, request.overrides)
        settings = _per_model_settings(request.model_list, request.engine, checked)
        # llama-server's settings may be its model's own, which size_model checks.
        models, model_warnings = _size_models(request, settings, settings == checked)
        memory = _engine_memory(request, settings, models)
        if "monitoring" not in request.memo:
            monitoring = _monitoring(request)
            request.memo["monitoring"] = monitoring
            request.memo["monitoring_mb"] = sum(entry["mem_limit_mb"] for entry in monitoring.values())
        request.memo[profile] = {"settings": settings, "models": models, "model_warnings": model_warnings,
                                 "memory": memory, "fit": _fit(request, memory, request.memo["monitoring_mb"])}
    return request.memo[profile]


def _plan_for_profile(request: _Request, profile: str) -> Dict[str, Any]:
    """One profile's plan: each step below is a small function of the request and the steps before it."""
    sized = _sized(request, profile)
    settings, models, memory, fit = sized["settings"], [dict(model) for model in sized["models"]], sized["memory"], sized["fit"]
    monitoring = {name: dict(entry) for name, entry in request.memo["monitoring"].items()}
    placement = _placement(request, settings, memory["limit_mb"])
    env, env_notes = _env(request.engine, settings, models, memory, placement["threads"])
    backend, _devices, vram_mb = request.backend
    for model in models:
        model["fits_gpu"] = backend != "cpu" and model["total_bytes"] <= vram_mb * MIB
    engine_entry = {"mem_limit_mb": memory["limit_mb"], "mem_reservation_mb": memory["reservation_mb"],
                    "cpus": placement["cpus"], "native": request.runtime == "native"}
    memory_warnings, memory_notes = _engine_texts(request, memory)
    refusal = _refusal(request, memory, fit)
    warnings = request.budget["warnings"] + sized["model_warnings"] + memory_warnings + placement["warnings"]
    host = request.host
    return {
        "profile": profile,
        "engine": request.engine,
        "runtime": request.runtime,
        "backend": backend,
        "budget_mb": request.budget["budget_mb"],
        "used_mb": fit["used_mb"],
        "headroom": request.headroom,
        "settings": dict(settings),
        "components": dict([(request.service, engine_entry)] + list(monitoring.items())),
        "env": env,
        "models": models,
        "resident_models": [model["name"] for model in memory["resident"]],
        "docker_desktop": _docker_desktop(request, models, fit["vm_mb"]),
        "numa": placement["numa"],
        "host": dict(((key, host[key]) for key in ("system", "memtotal_mb", "effective_mb", "vcpus", "physical_cores")),
                     gpus=len(host["gpus"]), vram_mb=vram_mb, numa_nodes=len(host["numa_nodes"]) or 1),
        "fits": fit["fits"],
        "warnings": ([refusal] if refusal else []) + warnings,
        "notes": request.budget["notes"] + memory_notes + placement["notes"] + fit["notes"] + env_notes,
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
    check_engine(engine)
    if profile != "auto" and profile not in PROFILES:
        raise PlanError("profile: %r is unknown; choose auto or one of %s" % (profile, ", ".join(PROFILES)))
    if runtime not in RUNTIMES:
        raise PlanError("runtime: %r is unknown; choose one of %s" % (runtime, ", ".join(RUNTIMES)))
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or not 0 <= headroom < 1:
        raise PlanError("headroom: %r must be a number in [0, 1)" % (headroom,))
    if models is None or isinstance(models, (str, abc.Mapping)) or not isinstance(models, (list, tuple)) or not models:
        raise PlanError("models: %r must be a non-empty list of catalog tags or metadata dicts" % (models,))
    if catalog is not None and not isinstance(catalog, abc.Mapping):
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

    # The settings are checked before the budget, once, whatever the profile: the first error named is the same.
    overrides = _check_overrides(overrides)
    service = ENGINE_SERVICE[engine]
    model_list = list(models)
    request = _Request(host=host, model_list=model_list, engine=engine, service=service, headroom=float(headroom),
                       overrides=overrides, component_overrides=component_overrides, runtime=runtime,
                       backend=_backend(host, runtime), budget=_budget(host, runtime, os_reserve_mb, service),
                       resolve=_resolver(model_list, catalog), memo={}, sizes={})
    plan = _auto(request) if profile == "auto" else _plan_for_profile(request, profile)
    if not plan["fits"] and not _no_suggestions:
        suggestions = _suggestions(request, profile, catalog, plan)
        plan["suggestions"] = suggestions
        plan["warnings"][0] += ("; it would fit with " + ", or with ".join(suggestions) if suggestions
                                else "; no smaller context, cache or catalog model fits this host")
    return plan


def _auto(request: _Request) -> Dict[str, Any]:
    """Profile auto: from the models' size class down to the most conservative profile that fits."""
    start = _auto_start(request)
    tried = _auto_tried(request, start)
    plan = _plan_for_profile(request, tried[-1])
    plan["notes"].insert(0, "profile auto: size class %s, tried %s, chose %s" % (start, ", ".join(tried), plan["profile"]))
    return plan


def _auto_tried(request: _Request, start: str) -> List[str]:
    """The profiles auto tries, from ``start`` to the first that fits (or the last): only their sizing and fit."""
    tried: List[str] = []
    for name in AUTO_ORDER[AUTO_ORDER.index(start):]:
        tried.append(name)
        if _sized(request, name)["fit"]["fits"]:
            break
    return tried


def _profiles_shrink(order: Tuple[str, ...]) -> bool:
    """Whether each profile of ``order`` asks at least as much memory of one model as the last: as many parallel
    requests and loaded models or more, the same flash attention (ctx and cache type are the same for all)."""
    last = PROFILES[order[-1]]
    return all(PROFILES[name]["parallel"] >= last["parallel"]
               and PROFILES[name]["max_loaded_models"] >= last["max_loaded_models"]
               and PROFILES[name]["flash_attention"] == last["flash_attention"] for name in order)


# True for the seed's profiles: auto's last profile is its leanest.
_AUTO_LAST_LEANEST = _profiles_shrink(AUTO_ORDER)


def _leanest_decides(request: _Request) -> bool:
    """Whether auto's last profile alone says if any profile auto would try fits: all a suggestion asks.

    So for one model without settings of its own, unless the engine's reservation is given without its limit: then no
    profile raises an error the last would not (a reservation given alone can be above a smaller profile's limit), and
    the last profile's memory is the least (:data:`_AUTO_LAST_LEANEST`; one model's memory never shrinks as parallel
    requests grow), so if it does not fit, none does, and if it fits, auto would have found a profile that does.
    """
    if not _AUTO_LAST_LEANEST or len(request.model_list) != 1:
        return False
    entry = request.model_list[0]
    if isinstance(entry, abc.Mapping) and any(entry.get(key) is not None for key in PER_MODEL_KEYS):
        return False
    override = request.component_overrides.get(request.service, {})
    return "mem_reservation_mb" not in override or "mem_limit_mb" in override


def _weights_alone_over(request: _Request, resolve: Callable[[int], Any], count: int) -> bool:
    """Whether the largest weights of ``count`` models (by ``resolve``), with the headroom, and the monitoring are over
    the budget of the request, whose plan has been sized: then no profile fits them, whatever the settings (an error
    resolving a model is raised).

    On the CPU or Metal the engine's limit, unless given, is what its resident models need with the headroom, and the
    resident models hold the largest total, at least the largest weights; beside it the monitoring's limits count, or on
    a native Mac the VM holding them, which is larger. With GPUs offloading the weights the bound does not hold.
    """
    if request.backend[0] in BACKEND_VENDOR or "mem_limit_mb" in request.component_overrides.get(request.service, {}):
        return False
    largest = max(weights_bytes(resolve(index)[1]) for index in range(count))
    return _mib(largest * (1 + request.headroom)) + request.memo["monitoring_mb"] > request.budget["budget_mb"]


def _auto_start(request: _Request) -> str:
    """The size class of the models on this budget, from their weights alone (no plan is made for it).

    A model that cannot be resolved starts auto at the first profile, whose plan raises the error.
    """
    try:
        weights = [{"weights_bytes": weights_bytes(request.resolve(index)[1])} for index in range(len(request.model_list))]
    except PlanError:
        return AUTO_ORDER[0]
    return _size_class(weights, request.budget["budget_mb"])


def _suggestions(request: _Request, profile: str, catalog: Optional[Mapping[str, Any]], plan: Mapping[str, Any]) -> List[str]:
    """What would make a refused plan fit on this host: a smaller context, a q8_0 cache, a smaller model.

    Each is planned for real (the same host, the other settings unchanged) as far as its fit; only those that fit are
    named. They share the plan's monitoring and its models' sizing (the host, budget and components are the same),
    and the changed settings are valid ones, so nothing is checked again. Two shortcuts give the same answers with
    less work: models whose weights alone are over the budget are not sized (:func:`_weights_alone_over`), and under
    auto one model is sized for auto's last profile only (:func:`_leanest_decides`).
    """
    models = request.model_list

    def fits(models: List[Any], **change: Any) -> bool:
        resolve = request.resolve if models == request.model_list[:len(models)] else _resolver(list(models), catalog)
        try:
            if _weights_alone_over(request, resolve, len(models)):
                return False
            # The plan's monitoring: the host, budget and components are the same.
            memo = {key: request.memo[key] for key in ("monitoring", "monitoring_mb")}
            changed = request._replace(model_list=list(models), overrides=dict(request.overrides, **change),
                                       resolve=resolve, memo=memo)
            if profile != "auto":
                return bool(_sized(changed, profile)["fit"]["fits"])
            if _leanest_decides(changed):
                return bool(_sized(changed, AUTO_ORDER[-1])["fit"]["fits"])
            return bool(_sized(changed, _auto_tried(changed, _auto_start(changed))[-1])["fit"]["fits"])
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


# The planner role's variables (planner_<name>) that resource_plan takes, in its keyword names.
PLAN_SETTINGS = ("models", "engine", "profile", "headroom", "runtime", "ctx", "parallel", "max_loaded_models",
                 "keep_alive", "flash_attention", "kv_cache_type", "num_thread", "components", "os_reserve_mb", "catalog")


def plan_fleet(hostvars: Mapping[str, Mapping[str, Any]], hosts: Any, defaults: Mapping[str, Any]) -> Dict[str, Any]:
    """Plan, in one call, every host given by its facts (``frontier_llm_facts``: planned offline).

    The hosts that are reached are left out: their facts are gathered on them by the planner role's own tasks.
    Each host's ``planner_*`` variables come from ``hostvars`` (inventory, group and extra variables), else from
    ``defaults`` (the planner role's ``defaults/main.yml``: ``planner_<name>`` for each name of :data:`PLAN_SETTINGS`).

    :returns: ``plans`` (host -> plan) and ``errors`` (host -> the message, naming the setting) for every offline
        host; a bad host never stops the others from being planned.
    """
    if not isinstance(hosts, (list, tuple)):
        raise PlanError("hosts: expected a list of inventory names, got %r" % (hosts,))
    plans: Dict[str, Any] = {}
    errors: Dict[str, str] = {}
    for host in hosts:
        variables = hostvars[host]
        if "frontier_llm_facts" not in variables:
            continue
        settings = {name: variables["planner_" + name] if "planner_" + name in variables else defaults["planner_" + name]
                    for name in PLAN_SETTINGS if "planner_" + name in variables or "planner_" + name in defaults}
        if any(isinstance(model, abc.Mapping) and "gguf" in model for model in settings.get("models") or []):
            errors[host] = ("planner_models: a model given by its GGUF file (gguf) needs a host that is contacted, "
                            "where its header is read; give an offline host the metadata itself")
            continue
        try:
            plans[host] = resource_plan(variables["frontier_llm_facts"], **settings)
        except (PlanError, SizeError) as err:
            errors[host] = "frontier.llm.resource_plan: %s" % err
    return {"plans": plans, "errors": errors}
