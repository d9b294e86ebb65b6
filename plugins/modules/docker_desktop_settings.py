#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set Docker Desktop's VM resources on macOS."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_desktop_settings
short_description: Set Docker Desktop's VM memory, CPUs, swap and disk image size on macOS
version_added: 0.1.0
description:
  - Edits Docker Desktop's settings file - C(settings-store.json) (Docker Desktop 4.35+, PascalCase keys) or
    C(settings.json) (4.34 and earlier, camelCase keys), whichever exists - keeping every other key, and writes
    nothing when the values already match.
  - Docker Desktop overwrites the file while it runs. When it runs and a value differs, the module quits it, writes,
    and starts it again with O(restart=true); otherwise it writes nothing and reports the change as pending
    (C(pending)), with a warning.
  - The disk image is only ever grown; a smaller size would recreate it and lose every image and volume.
author:
  - frontier.llm developers (@frontier-llm)
options:
  settings_dir:
    description: Docker Desktop's settings directory.
    type: path
    default: ~/Library/Group Containers/group.com.docker
  memory_mib:
    description: VM memory in MiB.
    type: int
  cpus:
    description: VM CPUs.
    type: int
  swap_mib:
    description: VM swap in MiB.
    type: int
  disk_size_mib:
    description: Disk image size in MiB (grown, never shrunk).
    type: int
  restart:
    description: Quit a running Docker Desktop to apply a change, then start it again.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reports the change without writing or restarting.
    support: full
  diff_mode:
    description: Shows the changed keys before and after.
    support: full
  platform:
    description: macOS.
    support: full
    platforms: darwin
"""

EXAMPLES = r"""
- name: Size Docker Desktop from the plan
  frontier.llm.docker_desktop_settings:
    memory_mib: "{{ planner_plan.docker_desktop.memory_mib }}"
    cpus: "{{ planner_plan.docker_desktop.cpus }}"
    swap_mib: "{{ planner_plan.docker_desktop.swap_mib }}"
    disk_size_mib: "{{ planner_plan.docker_desktop.disk_size_mib }}"
    restart: true
"""

RETURN = r"""
path:
  description: The settings file, or null when Docker Desktop has none (not installed or never started).
  returned: always
  type: str
changes:
  description: Key to [before, after] of what differs.
  returned: always
  type: dict
  sample: {MemoryMiB: [8192, 156672]}
pending:
  description: True when a change was not written because Docker Desktop runs and O(restart) is false.
  returned: always
  type: bool
restarted:
  description: Whether Docker Desktop was quit and started again.
  returned: always
  type: bool
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.frontier.llm.plugins.module_utils.docker_desktop import FILES, DesktopSettingsError, merge

RESOURCES = ("memory_mib", "cpus", "swap_mib", "disk_size_mib")
# The process Docker Desktop runs while it is up (4.x).
BACKEND = "com.docker.backend"


def running(module):
    """Whether Docker Desktop runs."""
    pgrep = module.get_bin_path("pgrep")
    return bool(pgrep) and module.run_command([pgrep, "-x", BACKEND])[0] == 0


def quit_desktop(module):
    """Ask Docker Desktop to quit and wait until its backend is gone."""
    module.run_command(["osascript", "-e", 'quit app "Docker"'], check_rc=True)
    for _attempt in range(60):
        if not running(module):
            return
        time.sleep(1)
    module.fail_json(msg="Docker Desktop did not quit within 60 s; nothing was written")


def main():
    """Entry point."""
    spec = {name: {"type": "int"} for name in RESOURCES}
    spec.update({"settings_dir": {"type": "path", "default": "~/Library/Group Containers/group.com.docker"},
                 "restart": {"type": "bool", "default": False}})
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    directory = module.params["settings_dir"]
    path = next((os.path.join(directory, name) for name in FILES if os.path.isfile(os.path.join(directory, name))), None)
    result = {"changed": False, "path": path, "changes": {}, "pending": False, "restarted": False}
    if path is None:
        module.warn("Docker Desktop has no settings file in %s (not installed, or never started): nothing set" % directory)
        module.exit_json(**result)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        new_text, changes, warnings = merge(text, os.path.basename(path), {name: module.params[name] for name in RESOURCES})
    except DesktopSettingsError as err:
        module.fail_json(msg=str(err), **result)
    for warning in warnings:
        module.warn(warning)
    result["changes"] = {key: list(values) for key, values in changes.items()}
    if not changes:
        module.exit_json(**result)
    if module._diff:
        result["diff"] = {"before": "".join("%s: %s\n" % (k, v[0]) for k, v in sorted(changes.items())),
                          "after": "".join("%s: %s\n" % (k, v[1]) for k, v in sorted(changes.items()))}
    was_running = running(module)
    if was_running and not module.params["restart"]:
        result["pending"] = True
        module.warn("Docker Desktop is running, so %s was not written: pending %s. Quit Docker Desktop and run again, or "
                    "set restart (macos_docker_desktop_restart: true)." % (path, ", ".join(sorted(changes))))
        module.exit_json(**result)
    result["changed"] = True
    if module.check_mode:
        result["restarted"] = was_running
        module.exit_json(**result)
    if was_running:
        quit_desktop(module)
    temp = path + ".frontier-llm.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(new_text)
    module.atomic_move(temp, path)
    if was_running:
        module.run_command(["open", "-a", "Docker"], check_rc=True)
        result["restarted"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
