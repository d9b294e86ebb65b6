#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep the gateway's named API keys on the managed host."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: api_keys
short_description: Named API keys for the stack's Nginx gateway - generate, rotate with a grace period, revoke
version_added: 0.2.0
description:
  - "Keeps a store of named API keys on the managed host (a JSON file, mode 0600) and the Nginx map that turns
    C(Authorization: Bearer <key>) into the key's name (mode 0600), so the gateway authenticates, rate-limits
    and logs by name and never logs a key."
  - A key is generated on the host the first time its name is listed (256 random bits) and kept across runs.
  - Raising an entry's O(keys[].generation) rotates that key alone. With O(keys[].keep_previous) the old key
    keeps working beside the new one until a later run turns O(keys[].keep_previous) off.
  - "O(keys[].state=absent) revokes a key. With O(exclusive) (the default), so does leaving a key out of O(keys):
    the list is the declared state, and a credential the inventory no longer declares stops working."
  - Two keys that differ only in case are refused before anything is written (Nginx compares them without regard
    to case).
  - A damaged store fails the task; it is never replaced silently.
author:
  - frontier.llm developers (@frontier-llm)
options:
  path:
    description: The key store, a JSON file readable by root only.
    type: path
    required: true
  map_path:
    description: The Nginx map file written from the store.
    type: path
    required: true
  keys:
    description: The keys wanted.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The key's name, 1-32 of C(a-z 0-9 _ -); it appears in the access log and keys the rate limit.
        type: str
        required: true
      state:
        description: C(absent) revokes the key.
        type: str
        choices: [present, absent]
        default: present
      generation:
        description: Raise it to rotate the key; it can never go down.
        type: int
        default: 1
      keep_previous:
        description: After a rotation, keep the previous key valid too (the grace period); turn off to retire it.
        type: bool
        default: false
      key:
        description: Use this key instead of a generated one (keep it in Ansible Vault). 24-256 URL-safe characters.
        type: str
  exclusive:
    description:
      - Revoke the stored keys that O(keys) does not name (the list is the whole declared state).
      - Without it they are kept and RV(unlisted) names them, with a warning.
    type: bool
    default: true
    version_added: 0.3.0
  return_keys:
    description: Names whose current keys are returned in RV(secrets); the task must set C(no_log).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Computes what would change and writes nothing.
    support: full
  diff_mode:
    description: Shows the key names with their generations, never a key.
    support: full
"""

EXAMPLES = r"""
- name: Keep the gateway's keys
  frontier.llm.api_keys:
    path: /opt/frontier-llm/secrets/api_keys.json
    map_path: /opt/frontier-llm/nginx/keys.map
    keys:
      - name: alice
      - name: ci
        generation: 2
        keep_previous: true   # the old key of ci still works until this is removed
      - name: bob
        state: absent
  no_log: true
"""

RETURN = r"""
key_status:
  description:
    - Each key's name with its generation and whether a previous key is still valid; never a key.
    - Not named C(keys), which Jinja reads as the dict method rather than the value.
  returned: always
  type: dict
  sample: {"alice": {"generation": 1, "previous_valid": false}}
unlisted:
  description:
    - Stored keys that O(keys) does not name and that stay valid (a warning says so), with O(exclusive=false) only.
    - With O(exclusive=true) such keys are revoked and RV(changes) says so.
  returned: always
  type: list
  elements: str
changes:
  description: What changed, by name.
  returned: always
  type: list
  elements: str
  sample: ["created alice", "rotated ci to generation 2, the previous key still valid"]
secrets:
  description: The current keys of the names in O(return_keys).
  returned: always
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.frontier.llm.plugins.module_utils.apikeys import (
    ApiKeyError,
    check_store,
    nginx_map,
    reconcile,
    secrets_for,
    summary,
    unlisted,
    validate,
)


def read_store(path):
    """The store on disk, or an empty one when the file does not exist yet."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except ValueError:
            raise ApiKeyError("%s: not valid JSON; fix or remove it by hand" % path) from None
    return check_store(data, path)


def write_private(module, path, content):
    """Write content to path with mode 0600 atomically (not in check mode); True when it differs."""
    try:
        with open(path, encoding="utf-8") as handle:
            same = handle.read() == content
        if same and (os.stat(path).st_mode & 0o777) == 0o600:
            return False
    except OSError:
        pass
    if module.check_mode:
        return True
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        module.fail_json(msg="%s: the directory %s does not exist" % (path, directory))
    temp = os.path.join(directory, ".%s.tmp" % os.path.basename(path))
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(temp, 0o600)
    module.atomic_move(temp, path)
    os.chmod(path, 0o600)
    return True


def main():
    """Entry point."""
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "map_path": {"type": "path", "required": True},
            "keys": {"type": "list", "elements": "dict", "required": True, "no_log": False, "options": {
                "name": {"type": "str", "required": True},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "generation": {"type": "int", "default": 1},
                "keep_previous": {"type": "bool", "default": False},
                "key": {"type": "str", "no_log": True},
            }},
            "exclusive": {"type": "bool", "default": True},
            "return_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
        },
        supports_check_mode=True,
    )
    path, map_path = module.params["path"], module.params["map_path"]
    try:
        entries = validate(module.params["keys"])
        before = read_store(path)
        after, changes = reconcile(before, entries, exclusive=module.params["exclusive"])
    except ApiKeyError as err:
        module.fail_json(msg=str(err))
    store_text = json.dumps(after, indent=2, sort_keys=True) + "\n"
    map_text = nginx_map(after)
    changed = write_private(module, path, store_text)
    changed = write_private(module, map_path, map_text) or changed
    forgotten = unlisted(after, entries)
    for name in forgotten:
        module.warn("the key %s is stored but not listed: it stays valid (exclusive: false) until listed with "
                    "state: absent" % name)
    result = {
        "changed": changed,
        "key_status": summary(after),
        "changes": changes,
        "unlisted": forgotten,
        "secrets": secrets_for(after, module.params["return_keys"]),
    }
    if module._diff:
        result["diff"] = {"before": json.dumps(summary(before), indent=2) + "\n",
                          "after": json.dumps(summary(after), indent=2) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
