#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install a repository's signing key only when its fingerprint is the one pinned."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: signing_key
short_description: Install an apt repository's OpenPGP key only when its fingerprint is a pinned one
version_added: 0.2.0
description:
  - Downloads an OpenPGP public key (armored or binary) and computes the fingerprint of each primary key in it, in
    Python, without gpg (RFC 9580, version 4 and 6 keys).
  - apt trusts every key of the file, so each primary key in it must be in O(fingerprints); when one is not, fails
    naming what was found and what was expected, and writes nothing. (Pinning several fingerprints lets a publisher's
    key rotate; a file need not hold all of them.)
  - An armored file must hold one armored block and nothing but white space around it (a second block or other text
    is refused); a file that cannot be read as OpenPGP, a cut one included, is refused as well.
  - Otherwise writes the key to O(dest) (mode 0644), changed only when its content differs, for an apt source's
    C(Signed-By).
author:
  - frontier.llm developers (@frontier-llm)
options:
  url:
    description: Where the key is published (http or https).
    type: str
    required: true
  dest:
    description: Where to write it, such as C(/etc/apt/keyrings/docker.asc).
    type: path
    required: true
  fingerprints:
    description: The accepted fingerprints, 40 (or 64) hexadecimal digits; spaces are ignored.
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds the download may take.
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.url
attributes:
  check_mode:
    description: Downloads and checks the key; writes nothing.
    support: full
  diff_mode:
    description: Nothing to show as a diff.
    support: none
"""

EXAMPLES = r"""
- name: Docker's repository key, checked against the fingerprint Docker publishes
  frontier.llm.signing_key:
    url: https://download.docker.com/linux/debian/gpg
    dest: /etc/apt/keyrings/docker.asc
    fingerprints: ["9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"]
"""

RETURN = r"""
fingerprints:
  description: The fingerprints of the primary keys the file holds.
  returned: success
  type: list
  elements: str
"""

import os
import tempfile
from typing import List

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url, url_argument_spec
from ansible_collections.frontier.llm.plugins.module_utils.openpgp import OpenPGPError, fingerprints, normalize


def unpinned(found: List[str], wanted: List[str]) -> str:
    """Why the keys ``found`` in a file may not be installed when ``wanted`` are pinned; empty when each one is pinned.

    apt trusts every key of a Signed-By file: one pinned key beside another that is not would let the other sign the
    repository.
    """
    others = [fingerprint for fingerprint in found if fingerprint not in wanted]
    if not others:
        return ""
    if len(others) == len(found) == 1:
        return "the key's fingerprint is %s, not the pinned %s" % (found[0], ", ".join(wanted))
    return ("the file holds %d keys (%s) and %s %s not pinned (fingerprints: %s); apt would trust every key in it"
            % (len(found), ", ".join(found), ", ".join(others), "is" if len(others) == 1 else "are", ", ".join(wanted)))


def main() -> None:
    """Fetch, check, write."""
    argument_spec = url_argument_spec()
    argument_spec.update(
        url={"type": "str", "required": True},
        dest={"type": "path", "required": True},
        fingerprints={"type": "list", "elements": "str", "required": True},
        timeout={"type": "int", "default": 30},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        wanted = [normalize(value) for value in module.params["fingerprints"]]
    except OpenPGPError as err:
        module.fail_json(msg="fingerprints: %s" % err)
    if not wanted:
        module.fail_json(msg="fingerprints: give at least one")
    response, info = fetch_url(module, module.params["url"], timeout=module.params["timeout"])
    if info.get("status") != 200 or response is None:
        module.fail_json(msg="%s: HTTP %s %s" % (module.params["url"], info.get("status"), info.get("msg", "")))
    data = response.read()
    try:
        found = fingerprints(data)
    except OpenPGPError as err:
        module.fail_json(msg="%s: %s; nothing was installed" % (module.params["url"], err))
    problem = unpinned(found, wanted)
    if problem:
        module.fail_json(msg="%s: %s; nothing was installed" % (module.params["url"], problem), fingerprints=found)
    dest = module.params["dest"]
    current = None
    if os.path.exists(dest):
        with open(dest, "rb") as handle:
            current = handle.read()
    changed = current != data or (os.stat(dest).st_mode & 0o777) != 0o644
    if changed and not module.check_mode:
        directory = os.path.dirname(dest) or "."
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        handle, temp = tempfile.mkstemp(dir=directory)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o644)
        module.atomic_move(temp, dest)
    module.exit_json(changed=changed, fingerprints=found)


if __name__ == "__main__":
    main()
