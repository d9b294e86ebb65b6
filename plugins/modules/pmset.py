#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set macOS power management settings with pmset, changing only what differs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pmset
short_description: Set macOS power settings (pmset), changing only what differs
version_added: 0.1.0
description:
  - Reads C(pmset -g custom), compares the settings of the power sources O(scope) covers with O(settings),
    and makes one C(pmset) call with exactly the keys that differ; none when all match.
  - The keys and values are pmset(1)'s; an unknown key, a bad value, or a key this Mac does not have for that power
    source (for example C(lidwake) on a desktop) fails with a message naming it.
  - Needs root (C(become)) to change anything.
author:
  - frontier.llm developers (@frontier-llm)
options:
  scope:
    description:
      - The power sources to set, as pmset's C(-a) (all), C(-c) (charger, AC), C(-b) (battery) and C(-u) (UPS).
    type: str
    choices: [all, ac, battery, ups]
    default: all
  settings:
    description:
      - "pmset key to value, for example C({sleep: 0, disksleep: 0})."
      - Minutes for C(sleep), C(disksleep) and C(displaysleep) (0 = never); 0 or 1 for flags; C(hibernatemode) 0, 3 or 25.
    type: dict
    required: true
attributes:
  check_mode:
    description: Reports what would change and the pmset call, without making it.
    support: full
  diff_mode:
    description: Shows the differing settings before and after, per power source.
    support: full
  platform:
    description: macOS.
    support: full
    platforms: darwin
notes:
  - The seed guide's macOS steps, C(pmset -a sleep 0) and C(pmset -a disksleep 0), are this module's defaults in the
    C(frontier.llm.macos) role.
"""

EXAMPLES = r"""
- name: Never sleep, never spin disks down (an LLM server on a desk)
  frontier.llm.pmset:
    scope: all
    settings:
      sleep: 0
      disksleep: 0
  become: true
"""

RETURN = r"""
command:
  description: The pmset arguments used (empty when nothing differed).
  returned: always
  type: list
  elements: str
  sample: ["-a", "sleep", "0"]
differing:
  description: Per power source, the settings that differed and their values before.
  returned: always
  type: dict
  sample: {ac: {sleep: "1"}, battery: {sleep: "1"}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.frontier.llm.plugins.module_utils.pmset import PmsetError, normalise, parse_custom, plan_call


def main():
    """Entry point."""
    module = AnsibleModule(
        argument_spec={
            "scope": {"type": "str", "default": "all", "choices": ["all", "ac", "battery", "ups"]},
            "settings": {"type": "dict", "required": True},
        },
        supports_check_mode=True,
    )
    pmset = module.get_bin_path("pmset")
    if pmset is None:
        module.fail_json(msg="pmset was not found: this module is for macOS hosts")
    try:
        wanted = normalise(module.params["settings"])
    except PmsetError as err:
        module.fail_json(msg=str(err))
    rc, out, err = module.run_command([pmset, "-g", "custom"])
    if rc != 0:
        module.fail_json(msg="pmset -g custom failed: %s" % (err or out).strip(), rc=rc)
    current = parse_custom(out)
    try:
        args, differing = plan_call(current, module.params["scope"], wanted)
    except PmsetError as err:
        module.fail_json(msg=str(err))
    result = {"changed": bool(args), "command": args, "differing": differing}
    if module._diff:
        result["diff"] = {
            "before": "".join("%s %s %s\n" % (source, key, value) for source, keys in sorted(differing.items())
                              for key, value in sorted(keys.items())),
            "after": "".join("%s %s %s\n" % (source, key, wanted[key]) for source, keys in sorted(differing.items())
                             for key in sorted(keys)),
        }
    if args and not module.check_mode:
        rc, out, err = module.run_command([pmset] + args)
        if rc != 0:
            module.fail_json(msg="pmset %s failed: %s" % (" ".join(args), (err or out).strip()), rc=rc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
