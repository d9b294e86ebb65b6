# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's diagnosis: findings, with the seed's remedies, from what was read on a host.

Plain Python with no Ansible import; ``plugins/modules/stack_doctor.py`` gathers the readings
(``docker inspect`` and ``docker stats`` of the stack's containers, the kernel log, ``/proc/vmstat``
twice, the models filesystem, the engine's recent log, the plan the stack applied) and
:func:`diagnose` turns them into findings. Each finding names the check, what was seen and what
to do, following the troubleshooting section of the resource guide the collection grew from.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional

MIB = 1024 * 1024
# Thresholds: memory used against a container's limit, free space on the models filesystem, restarts, model loads.
MEMORY_WARN = 0.90
DISK_FREE_MIN = 0.10
RESTARTS_MAX = 3
LOADS_MAX = 3
# Pages swapped in or out per second over the sampling window.
SWAP_PAGES_PER_SECOND = 10.0
# A plan sized for other RAM: more than 5% difference with the host's memory now.
RAM_DRIFT = 0.05
# Lines the engines print each time they load a model (llama.cpp's loader; Ollama's runner start).
LOAD_LINE = re.compile(r"llama_model_load:|loading model|starting llama server|msg=\"starting runner\"", re.IGNORECASE)
OOM_LINE = re.compile(r"Memory cgroup out of memory|Out of memory: Killed process|oom-kill:", re.IGNORECASE)


def finding(check: str, seen: str, remedy: str) -> Dict[str, str]:
    """One problem: the check that found it, what was seen, and what to do."""
    return {"check": check, "seen": seen, "remedy": remedy}


def diagnose(readings: Mapping[str, Any]) -> List[Dict[str, str]]:
    """Every problem in one host's readings.

    :param readings: ``containers`` (``docker inspect`` results), ``stats`` (name -> memory used
        in bytes), ``kernel_log`` (lines), ``vmstat`` (two samples of pswpin/pswpout and the seconds
        between them), ``disk`` (``path``, ``avail``, ``size`` in bytes), ``engine_log`` (lines),
        ``plan`` (the plan the stack applied, or None) and ``memtotal_mb`` (the host's RAM now).
    """
    found: List[Dict[str, str]] = []
    containers = readings.get("containers") or []
    stats = readings.get("stats") or {}
    for container in containers:
        name = str(container.get("Name", "")).lstrip("/")
        state = container.get("State") or {}
        if state.get("OOMKilled"):
            found.append(finding("oom", "%s was killed for memory (OOMKilled)" % name,
                                 "Raise its limit in the plan (planner_headroom, or serve a smaller model or context: "
                                 "planner_ctx, planner_parallel) and re-run site.yml; the seed's rule is a limit of at "
                                 "least the model's weights plus its KV cache plus 20%."))
        restarts = int(container.get("RestartCount") or 0)
        if restarts > RESTARTS_MAX:
            found.append(finding("restarts", "%s restarted %d times" % (name, restarts),
                                 "Read its log (docker compose -p frontier-llm logs %s); a restart loop after an OOM "
                                 "kill needs a larger limit, one after a crash a fixed configuration." % name))
        limit = int((container.get("HostConfig") or {}).get("Memory") or 0)
        used = stats.get(name)
        if limit and used is not None and used > MEMORY_WARN * limit:
            found.append(finding("memory", "%s uses %d MiB of its %d MiB limit (%d%%)"
                                 % (name, used // MIB, limit // MIB, round(100 * used / limit)),
                                 "It is close to an OOM kill: lower the context or parallel requests, or raise the "
                                 "limit through the plan."))
    kernel = [line for line in readings.get("kernel_log") or [] if OOM_LINE.search(line)]
    if kernel:
        found.append(finding("kernel-oom", "the kernel log has %d OOM kill line(s), the last: %s"
                             % (len(kernel), kernel[-1].strip()[:200]),
                             "Find the process it killed; when it is the engine, its limit or the host's RAM is too "
                             "small for the plan."))
    vmstat = readings.get("vmstat") or {}
    seconds = float(vmstat.get("seconds") or 0)
    if seconds > 0:
        first, second = vmstat.get("first") or {}, vmstat.get("second") or {}
        pages = sum(int(second.get(key, 0)) - int(first.get(key, 0)) for key in ("pswpin", "pswpout"))
        if pages / seconds > SWAP_PAGES_PER_SECOND:
            found.append(finding("swap", "the host swapped %.0f pages/s while the doctor watched" % (pages / seconds),
                                 "Model weights or the KV cache are being paged out: serve less, or turn swap off "
                                 "(linux_tuning_swap) so the limits hold instead."))
    disk = readings.get("disk") or {}
    if disk.get("size"):
        free = int(disk["avail"]) / int(disk["size"])
        if free < DISK_FREE_MIN:
            found.append(finding("disk", "%d%% free (%d MiB) on the filesystem of %s"
                                 % (round(100 * free), int(disk["avail"]) // MIB, disk.get("path")),
                                 "Model pulls will fail: remove models no longer served or grow the filesystem."))
    loads = [line for line in readings.get("engine_log") or [] if LOAD_LINE.search(line)]
    if len(loads) > LOADS_MAX:
        found.append(finding("model-churn", "the engine loaded a model %d times in its recent log" % len(loads),
                             "Models are evicted and reloaded: raise keep_alive or max_loaded_models if the plan has "
                             "room, or serve fewer models on this host."))
    plan: Optional[Mapping[str, Any]] = readings.get("plan")
    memtotal = readings.get("memtotal_mb")
    if plan is None:
        found.append(finding("plan", "no plan.json under the stack root: the stack was never deployed here",
                             "Run site.yml."))
    elif memtotal:
        planned = int((plan.get("host") or {}).get("memtotal_mb") or 0)
        if planned and abs(planned - int(memtotal)) > RAM_DRIFT * planned:
            found.append(finding("plan-drift", "the plan was made for %d MiB of RAM, the host has %d MiB now"
                                 % (planned, int(memtotal)),
                                 "Re-run site.yml so the limits are computed from this host's memory."))
    return found
