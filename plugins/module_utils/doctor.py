# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's diagnosis: findings, with the seed's remedies, from what was read on a host.

Plain Python with no Ansible import; ``plugins/modules/stack_doctor.py`` gathers the readings
(``docker inspect`` and ``docker stats`` of the stack's containers, Docker's event stream over the
window, the kernel log, ``/proc/vmstat`` twice, the models filesystem and Docker's data root, the
engine's log over the window, the plan the stack applied) and :func:`diagnose` turns them into
findings. Each finding names the check, what was seen, the evidence it came from and what to do,
following the troubleshooting section of the resource guide the collection grew from.

Evidence that survives a restart: a container restarted by its ``restart: unless-stopped`` policy
after an OOM kill no longer shows ``OOMKilled`` in ``docker inspect``, and its ``RestartCount``
counts every restart since it was created, however old. So OOM kills and restarts are counted from
Docker's own events (``oom`` and ``die``) over the window, and only ``docker inspect``'s current
state (status, health, ``OOMKilled`` as it stands) is read from the container itself.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Pattern

MIB = 1024 * 1024
# Thresholds: memory used against a container's limit, free space on a filesystem, exits in the window, model loads.
MEMORY_WARN = 0.90
DISK_FREE_MIN = 0.10
RESTARTS_MAX = 3
LOADS_MAX = 3
# Pages swapped in or out per second over the sampling window.
SWAP_PAGES_PER_SECOND = 10.0
# A plan sized for other RAM: more than 5% difference with the host's memory now.
RAM_DRIFT = 0.05
# The one line each engine prints each time it loads a model, as it prints it. llama-server b11434 at its default
# verbosity: "srv    load_model: loading model '/models/x.gguf'" (then "srv  llama_server: model loaded"); Ollama's
# server starts a runner per model load: msg="starting runner" (older releases: msg="starting llama server").
# mistral.rs: no line is counted (its loader's output was not checked against a real run here).
LOAD_LINES: Dict[str, Pattern[str]] = {
    "llamacpp": re.compile(r"\bload_model: loading model\b"),
    "ollama": re.compile(r'msg="starting (runner|llama server)"'),
}
OOM_LINE = re.compile(r"Memory cgroup out of memory|Out of memory: Killed process|oom-kill:", re.IGNORECASE)
# docker inspect's State.Status values of a container that does not serve.
DOWN_STATES = ("created", "exited", "dead", "paused", "restarting", "removing")


def finding(check: str, seen: str, evidence: str, remedy: str) -> Dict[str, str]:
    """One problem: the check that found it, what was seen, the evidence it was read from, and what to do."""
    return {"check": check, "seen": seen, "evidence": evidence, "remedy": remedy}


def _events_by_container(events: List[Mapping[str, Any]], action: str, current_ids: Mapping[str, str]) -> Dict[str, int]:
    """How many events of ``action`` each container existing now had (by name); a replaced container's are not its."""
    counts: Dict[str, int] = {}
    for event in events:
        if event.get("Action") != action:
            continue
        name = current_ids.get(str((event.get("Actor") or {}).get("ID") or event.get("id") or ""))
        if name:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _disk_finding(check: str, disk: Mapping[str, Any], what: str, remedy: str) -> List[Dict[str, str]]:
    """A finding when a filesystem (``path``, ``avail``, ``size`` in bytes) has less than DISK_FREE_MIN free."""
    if not disk.get("size"):
        return []
    free = int(disk["avail"]) / int(disk["size"])
    if free >= DISK_FREE_MIN:
        return []
    return [finding(check, "%d%% free (%d MiB) on the filesystem of %s (%s)"
                    % (round(100 * free), int(disk["avail"]) // MIB, disk.get("path"), what),
                    "statvfs of %s" % disk.get("path"), remedy)]


def diagnose(readings: Mapping[str, Any]) -> List[Dict[str, str]]:
    """Every problem in one host's readings.

    :param readings: ``containers`` (``docker inspect`` results), ``events`` (Docker's container events of the
        project over the window, as ``docker events --format '{{json .}}'`` prints them), ``window`` (its length, as
        given: ``1h``), ``stats`` (name -> memory used in bytes), ``kernel_log`` (lines), ``kernel_log_source``,
        ``vmstat`` (two samples of pswpin/pswpout and the seconds between them), ``disk`` and ``data_root`` (the
        models filesystem's and Docker's data root's ``path``, ``avail``, ``size`` in bytes), ``engine_log`` (the
        engine's lines over the window), ``plan`` (the plan the stack applied, or None) and ``memtotal_mb`` (the
        host's RAM now).
    """
    found: List[Dict[str, str]] = []
    window = str(readings.get("window") or "1h")
    containers = readings.get("containers") or []
    stats = readings.get("stats") or {}
    events = readings.get("events") or []
    current_ids = {str(c.get("Id", "")): str(c.get("Name", "")).lstrip("/") for c in containers}
    ooms = _events_by_container(events, "oom", current_ids)
    exits = _events_by_container(events, "die", current_ids)
    for container in containers:
        name = str(container.get("Name", "")).lstrip("/")
        state = container.get("State") or {}
        status = str(state.get("Status") or "")
        if status in DOWN_STATES:
            found.append(finding("down", "%s is %s (exit code %s)" % (name, status, state.get("ExitCode")),
                                 "docker inspect State.Status",
                                 "Read its log (docker compose -p frontier-llm logs %s) and bring the stack back up "
                                 "(re-run site.yml, which rolls back to the last healthy release when it cannot)." % name))
        elif str((state.get("Health") or {}).get("Status") or "") == "unhealthy":
            found.append(finding("unhealthy", "%s is running but its healthcheck fails" % name,
                                 "docker inspect State.Health",
                                 "Its last healthcheck output is in docker inspect (State.Health.Log); an engine still "
                                 "loading a large model can take longer than stack_engine_start_period."))
        killed = ooms.get(name, 0)
        if killed or state.get("OOMKilled"):
            evidence = ("docker events (oom) over the last %s" % window) if killed else "docker inspect State.OOMKilled"
            found.append(finding("oom", "%s was killed for memory %s" % (
                name, ("%d time(s) in the last %s" % (killed, window)) if killed else "(OOMKilled)"), evidence,
                "Raise its limit in the plan (planner_headroom, or serve a smaller model or context: "
                "planner_ctx, planner_parallel) and re-run site.yml; the seed's rule is a limit of at "
                "least the model's weights plus its KV cache plus 20%."))
        if exits.get(name, 0) > RESTARTS_MAX:
            found.append(finding("restarts", "%s exited %d times in the last %s" % (name, exits[name], window),
                                 "docker events (die) over the last %s" % window,
                                 "Read its log (docker compose -p frontier-llm logs %s); a restart loop after an OOM "
                                 "kill needs a larger limit, one after a crash a fixed configuration." % name))
        limit = int((container.get("HostConfig") or {}).get("Memory") or 0)
        used = stats.get(name)
        if limit and used is not None and used > MEMORY_WARN * limit:
            found.append(finding("memory", "%s uses %d MiB of its %d MiB limit (%d%%)"
                                 % (name, used // MIB, limit // MIB, round(100 * used / limit)), "docker stats",
                                 "It is close to an OOM kill: lower the context or parallel requests, or raise the "
                                 "limit through the plan."))
    kernel = [line for line in readings.get("kernel_log") or [] if OOM_LINE.search(line)]
    if kernel:
        found.append(finding("kernel-oom", "the kernel log has %d OOM kill line(s), the last: %s"
                             % (len(kernel), kernel[-1].strip()[:200]),
                             "kernel log (%s) over the last %s" % (readings.get("kernel_log_source") or "read", window),
                             "Find the process it killed; when it is the engine, its limit or the host's RAM is too "
                             "small for the plan."))
    vmstat = readings.get("vmstat") or {}
    seconds = float(vmstat.get("seconds") or 0)
    if seconds > 0:
        first, second = vmstat.get("first") or {}, vmstat.get("second") or {}
        pages = sum(int(second.get(key, 0)) - int(first.get(key, 0)) for key in ("pswpin", "pswpout"))
        if pages / seconds > SWAP_PAGES_PER_SECOND:
            found.append(finding("swap", "the host swapped %.0f pages/s while the doctor watched" % (pages / seconds),
                                 "/proc/vmstat over %g s" % seconds,
                                 "Model weights or the KV cache are being paged out: serve less, or turn swap off "
                                 "(linux_tuning_swap) so the limits hold instead."))
    found += _disk_finding("disk", readings.get("disk") or {}, "the models",
                           "Model pulls will fail: remove models no longer served or grow the filesystem.")
    found += _disk_finding("docker-disk", readings.get("data_root") or {}, "Docker's data root",
                           "Image loads, container logs and Prometheus's data will fail: prune unused images "
                           "(docker image prune), cap the logs, or grow the filesystem.")
    plan: Optional[Mapping[str, Any]] = readings.get("plan")
    pattern = LOAD_LINES.get(str((plan or {}).get("engine")))
    loads = [line for line in readings.get("engine_log") or [] if pattern and pattern.search(line)]
    if len(loads) > LOADS_MAX:
        found.append(finding("model-churn", "the engine loaded a model %d times in the last %s" % (len(loads), window),
                             "the engine's log over the last %s" % window,
                             "Models are evicted and reloaded: raise keep_alive or max_loaded_models if the plan has "
                             "room, or serve fewer models on this host."))
    memtotal = readings.get("memtotal_mb")
    if plan is None:
        found.append(finding("plan", "no plan.json under the stack root: the stack was never deployed here",
                             "the stack root", "Run site.yml."))
    elif memtotal:
        planned = int((plan.get("host") or {}).get("memtotal_mb") or 0)
        if planned and abs(planned - int(memtotal)) > RAM_DRIFT * planned:
            found.append(finding("plan-drift", "the plan was made for %d MiB of RAM, the host has %d MiB now"
                                 % (planned, int(memtotal)), "plan.json and /proc/meminfo",
                                 "Re-run site.yml so the limits are computed from this host's memory."))
    return found
