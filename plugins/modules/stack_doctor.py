#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a host's stack and say what is wrong with it, changing nothing."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_doctor
short_description: Diagnose a deployed LLM stack - OOM kills, restart loops, memory near its limit, swapping, disk, model churn, plan drift
version_added: 0.2.0
description:
  - Reads, without changing anything, what the resource guide's troubleshooting section asks about - the stack's
    containers (C(docker inspect) OOMKilled and restart counts, C(docker stats) memory against each limit), the
    kernel log's OOM kills, swap activity (C(/proc/vmstat) sampled over O(watch_seconds)), free space on the models
    filesystem, repeated model loads in the engine's recent log, and whether the plan the stack applied was made
    for this host's RAM.
  - Returns one finding per problem, each with what was seen and the remedy.
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
  log_since:
    description: How far back the engine's log and the kernel log are read (a C(docker logs --since) duration).
    type: str
    default: 1h
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
      description: The check (oom, restarts, memory, kernel-oom, swap, disk, model-churn, plan, plan-drift).
      type: str
    seen:
      description: What was found.
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


def main() -> None:
    """Gather the readings and return the findings."""
    module = AnsibleModule(
        argument_spec={
            "stack_root": {"type": "path", "default": "/opt/frontier-llm"},
            "models_dir": {"type": "path", "default": "/var/lib/frontier-llm/models"},
            "project": {"type": "str", "default": "frontier-llm"},
            "watch_seconds": {"type": "int", "default": 2},
            "log_since": {"type": "str", "default": "1h"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not re.match(r"^[a-z0-9][a-z0-9_-]*$", params["project"]) or not re.match(r"^[1-9][0-9]*[smh]$", params["log_since"]):
        module.fail_json(msg="project must be a Compose project name and log_since a duration such as 1h")
    docker = module.get_bin_path("docker", required=True)
    plan_path = os.path.join(params["stack_root"], "plan.json")
    plan = None
    if os.path.exists(plan_path):
        with open(plan_path) as handle:
            plan = json.load(handle)

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

    engine_log: List[str] = []
    service = ENGINE_SERVICE.get(str((plan or {}).get("engine")))
    if service:
        rc, out, err = module.run_command([docker, "compose", "-p", params["project"], "logs", "--no-color",
                                           "--since", params["log_since"], service])
        engine_log = (out + err).splitlines() if rc == 0 else []
    kernel_log, kernel_source = _kernel_log(module, params["log_since"])
    first = _vmstat()
    time.sleep(max(params["watch_seconds"], 1))
    second = _vmstat()
    disk: Dict[str, Any] = {"path": params["models_dir"]}
    if os.path.isdir(params["models_dir"]):
        fs = os.statvfs(params["models_dir"])
        disk.update(avail=fs.f_bavail * fs.f_frsize, size=fs.f_blocks * fs.f_frsize)

    readings = {"containers": containers, "stats": stats, "kernel_log": kernel_log, "engine_log": engine_log,
                "vmstat": {"first": first, "second": second, "seconds": max(params["watch_seconds"], 1)},
                "disk": disk, "plan": plan, "memtotal_mb": _memtotal_mb()}
    summary = [{"name": str(c.get("Name", "")).lstrip("/"), "status": (c.get("State") or {}).get("Status"),
                "oom_killed": bool((c.get("State") or {}).get("OOMKilled")), "restarts": int(c.get("RestartCount") or 0),
                "memory_mb": (stats.get(str(c.get("Name", "")).lstrip("/")) or 0) // MIB,
                "limit_mb": int((c.get("HostConfig") or {}).get("Memory") or 0) // MIB} for c in containers]
    module.exit_json(changed=False, findings=diagnose(readings), containers=summary, kernel_log_source=kernel_source)


if __name__ == "__main__":
    main()
