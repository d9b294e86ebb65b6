#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a host's stack and say what is wrong with it, changing nothing."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_doctor
short_description: Diagnose a deployed LLM stack - down or unhealthy services, OOM kills, restart loops, memory, swapping, disk, model churn
version_added: 0.2.0
description:
  - Reads, without changing anything, what the resource guide's troubleshooting section asks about - the stack's
    containers (C(docker inspect) status, health and OOMKilled, C(docker stats) memory against each limit), Docker's
    own events over O(window) (OOM kills and exits, which a restart does not clear), the kernel log's OOM kills, swap
    activity (C(/proc/vmstat) sampled over O(watch_seconds)), free space on the models filesystem and on Docker's data
    root, model loads in the engine's log over O(window), and whether the plan the stack applied was made for this
    host's RAM.
  - Returns one finding per problem, each with what was seen, the evidence it was read from, and the remedy.
author:
  - frontier.llm developers (@frontier-llm)
options:
  stack_root:
    description: The stack's directory (C(stack_root)), holding C(plan.json).
    type: path
    default: /opt/frontier-llm
  models_dir:
    description: The models directory (C(stack_models_dir)); its filesystem's free space is checked.
    type: path
    default: /var/lib/frontier-llm/models
  project:
    description: The Compose project's name.
    type: str
    default: frontier-llm
  watch_seconds:
    description: How long to watch swap activity.
    type: int
    default: 2
  window:
    description:
      - How far back Docker's events, the engine's log and the kernel log are read - a duration of digits and C(s),
        C(m) or C(h). OOM kills and exits older than that are not findings.
      - Docker keeps its events in memory, since the daemon's last start and up to a bounded number; older ones are
        not seen.
    type: str
    default: 1h
    aliases: [log_since]
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing to show as a diff.
    support: none
notes:
  - Needs the C(docker) CLI with Compose v2 on the host. The kernel log is read with C(journalctl -k) where systemd's
    journal has it, else C(dmesg); where neither is readable (a container), RV(kernel_log_source) says so.
"""

EXAMPLES = r"""
- name: Diagnose the stack
  frontier.llm.stack_doctor:
  register: doctor

- name: Show the findings
  ansible.builtin.debug:
    var: doctor.findings
"""

RETURN = r"""
findings:
  description: One entry per problem.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: >-
        The check (down, unhealthy, oom, restarts, memory, kernel-oom, swap, disk, docker-disk, model-churn, plan,
        plan-drift).
      type: str
    seen:
      description: What was found.
      type: str
    evidence:
      description: Where it was read (docker events over the window, docker inspect, the kernel log, statvfs...).
      type: str
    remedy:
      description: What to do.
      type: str
containers:
  description: The stack's containers with their state, restarts, memory used and limit in MiB.
  returned: always
  type: list
  elements: dict
kernel_log_source:
  description: Where the kernel log was read (journalctl, dmesg) or why it was not.
  returned: always
  type: str
events_read:
  description: How many of Docker's events of the project over the window were read.
  returned: always
  type: int
window:
  description: The window read, as given.
  returned: always
  type: str
"""

import json
import os
import re
import time
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.frontier.llm.plugins.module_utils.doctor import MIB, diagnose
from ansible_collections.frontier.llm.plugins.module_utils.sizing import ENGINE_SERVICE

_SIZE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]i?B|B)\s*$")
_FACTOR = {"B": 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB, "TiB": 1024 * 1024 * MIB,
           "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "TB": 1000 ** 4}


def _bytes(text: str) -> Optional[int]:
    found = _SIZE.match(text)
    return int(float(found.group(1)) * _FACTOR[found.group(2)]) if found else None


def _vmstat() -> Dict[str, int]:
    values: Dict[str, int] = {}
    with open("/proc/vmstat") as handle:
        for line in handle:
            key, _sep, value = line.partition(" ")
            if key in ("pswpin", "pswpout"):
                values[key] = int(value)
    return values


def _memtotal_mb() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def _kernel_log(module: AnsibleModule, since: str) -> Tuple[List[str], str]:
    journalctl = module.get_bin_path("journalctl")
    if journalctl:
        rc, out, _err = module.run_command([journalctl, "-k", "-q", "--no-pager", "--since", "-" + since])
        if rc == 0:
            return out.splitlines(), "journalctl"
    dmesg = module.get_bin_path("dmesg")
    if dmesg:
        rc, out, err = module.run_command([dmesg])
        if rc == 0:
            return out.splitlines(), "dmesg"
        return [], "not readable here (dmesg: %s)" % err.strip()[:100]
    return [], "not readable here (no journalctl or dmesg)"


def _seconds(duration: str) -> int:
    """``90s``, ``30m``, ``1h`` -> seconds."""
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def _filesystem(path: str) -> Dict[str, Any]:
    """``path`` with its filesystem's available and total bytes (none when the path is not a directory)."""
    disk: Dict[str, Any] = {"path": path}
    if path and os.path.isdir(path):
        fs = os.statvfs(path)
        disk.update(avail=fs.f_bavail * fs.f_frsize, size=fs.f_blocks * fs.f_frsize)
    return disk


def _events(module: AnsibleModule, docker: str, project: str, since: int, until: int) -> List[Dict[str, Any]]:
    """Docker's container events of the project between two times (both given, so the command returns at once)."""
    rc, out, err = module.run_command([docker, "events", "--since", str(since), "--until", str(until),
                                       "--filter", "type=container", "--filter", "label=com.docker.compose.project=%s" % project,
                                       "--format", "{{json .}}"])
    if rc != 0:
        module.fail_json(msg="docker events failed: %s" % err.strip())
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main() -> None:
    """Gather the readings and return the findings."""
    module = AnsibleModule(
        argument_spec={
            "stack_root": {"type": "path", "default": "/opt/frontier-llm"},
            "models_dir": {"type": "path", "default": "/var/lib/frontier-llm/models"},
            "project": {"type": "str", "default": "frontier-llm"},
            "watch_seconds": {"type": "int", "default": 2},
            "window": {"type": "str", "default": "1h", "aliases": ["log_since"]},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not re.match(r"^[a-z0-9][a-z0-9_-]*$", params["project"]):
        module.fail_json(msg="project: %r is not a Compose project name (lowercase letters, digits, _ and -)" % params["project"])
    if not re.match(r"^[1-9][0-9]{0,5}[smh]\Z", params["window"]):
        module.fail_json(msg="window: %r is not a duration such as 90s, 30m or 1h" % params["window"])
    docker = module.get_bin_path("docker", required=True)
    plan_path = os.path.join(params["stack_root"], "plan.json")
    plan = None
    if os.path.exists(plan_path):
        with open(plan_path) as handle:
            plan = json.load(handle)

    now = int(time.time())
    events = _events(module, docker, params["project"], now - _seconds(params["window"]), now)
    rc, out, err = module.run_command([docker, "ps", "-aq", "--filter", "label=com.docker.compose.project=%s" % params["project"]])
    if rc != 0:
        module.fail_json(msg="docker ps failed: %s" % err.strip())
    ids = out.split()
    containers: List[Dict[str, Any]] = []
    if ids:
        rc, out, err = module.run_command([docker, "inspect"] + ids)
        if rc != 0:
            module.fail_json(msg="docker inspect failed: %s" % err.strip())
        containers = json.loads(out)
    stats: Dict[str, int] = {}
    if ids:
        rc, out, _err = module.run_command([docker, "stats", "--no-stream", "--format", "{{json .}}"] + ids)
        for line in out.splitlines() if rc == 0 else []:
            entry = json.loads(line)
            used = _bytes(str(entry.get("MemUsage", "")).split("/", maxsplit=1)[0])
            if used is not None:
                stats[str(entry.get("Name", ""))] = used
    rc, out, _err = module.run_command([docker, "info", "--format", "{{.DockerRootDir}}"])
    data_root = out.strip() if rc == 0 else ""

    engine_log: List[str] = []
    service = ENGINE_SERVICE.get(str((plan or {}).get("engine")))
    if service:
        rc, out, err = module.run_command([docker, "compose", "-p", params["project"], "logs", "--no-color",
                                           "--since", params["window"], service])
        engine_log = (out + err).splitlines() if rc == 0 else []
    kernel_log, kernel_source = _kernel_log(module, params["window"])
    first = _vmstat()
    time.sleep(max(params["watch_seconds"], 1))
    second = _vmstat()

    readings = {"containers": containers, "events": events, "window": params["window"], "stats": stats,
                "kernel_log": kernel_log, "kernel_log_source": kernel_source, "engine_log": engine_log,
                "vmstat": {"first": first, "second": second, "seconds": max(params["watch_seconds"], 1)},
                "disk": _filesystem(params["models_dir"]), "data_root": _filesystem(data_root), "plan": plan,
                "memtotal_mb": _memtotal_mb()}
    summary = [{"name": str(c.get("Name", "")).lstrip("/"), "status": (c.get("State") or {}).get("Status"),
                "health": ((c.get("State") or {}).get("Health") or {}).get("Status"),
                "oom_killed": bool((c.get("State") or {}).get("OOMKilled")), "restarts": int(c.get("RestartCount") or 0),
                "memory_mb": (stats.get(str(c.get("Name", "")).lstrip("/")) or 0) // MIB,
                "limit_mb": int((c.get("HostConfig") or {}).get("Memory") or 0) // MIB} for c in containers]
    module.exit_json(changed=False, findings=diagnose(readings), containers=summary, kernel_log_source=kernel_source,
                     events_read=len(events), window=params["window"])


if __name__ == "__main__":
    main()
