#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep the stack's last healthy release, and bring it back, so that neither can be left half done."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_release
short_description: Save the stack's release files as the last healthy release, or restore them, atomically
version_added: 0.2.0
description:
  - With O(state=saved), copies the release files (the Compose file, the engine's environment, Nginx's and
    Prometheus's configurations, ...) from O(root) into a new directory beside O(dest), each with its content,
    mode and owner, then points the symbolic link O(dest) at it with one C(rename) - the last healthy release
    is always a whole one, the old or the new, even when the run dies half way. The release before is kept,
    older ones removed. Nothing is written when the files equal the saved release.
  - With O(state=restored), writes the saved files back into O(root) (each through a temporary file and a
    C(rename)), with the mode and owner they were saved with. Nothing happens when there is no saved release.
  - Supports check mode.
author:
  - frontier.llm developers (@frontier-llm)
options:
  root:
    description: The directory the release files are in (the stack's C(stack_root)).
    type: path
    required: true
  files:
    description: The release files, relative to O(root); plain relative paths without C(..).
    type: list
    elements: str
    required: true
  dest:
    description: The symbolic link to the last healthy release; the releases are kept in O(dest)C(.d).
    type: path
    required: true
  state:
    description: C(saved) keeps the files of O(root) as the last healthy release, C(restored) brings it back.
    type: str
    choices: [saved, restored]
    default: saved
"""

EXAMPLES = r"""
- name: Keep this release as the last healthy one
  frontier.llm.stack_release:
    root: /opt/frontier-llm
    files: [compose.yml, engine.env, nginx/nginx.conf]
    dest: /opt/frontier-llm/last-good

- name: Bring the last healthy release back
  frontier.llm.stack_release:
    root: /opt/frontier-llm
    files: [compose.yml, engine.env, nginx/nginx.conf]
    dest: /opt/frontier-llm/last-good
    state: restored
"""

RETURN = r"""
release:
  description: The saved release's id (a digest of its files' names, contents, modes and owners); empty when none.
  type: str
  returned: always
found:
  description: Whether a saved release exists (for O(state=restored)).
  type: bool
  returned: always
files:
  description: The files written (saved into the release, or restored into O(root)).
  type: list
  elements: str
  returned: always
"""

import hashlib
import json
import os
import shutil
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule

MANIFEST = "release.json"


class ReleaseError(Exception):
    """A release file that cannot be read or a path that is not safe."""


def _check_names(files: List[str]) -> None:
    for name in files:
        parts = name.split("/")
        if not name or name.startswith("/") or any(part in ("", ".", "..") for part in parts) or name == MANIFEST:
            raise ReleaseError("files: %r must be a plain path relative to root" % name)


def read_release(root: str, files: List[str]) -> Tuple[str, Dict[str, Dict[str, Any]]]:
    """The release id and, per file, its content, mode and owner, read from ``root``."""
    found: Dict[str, Dict[str, Any]] = {}
    digest = hashlib.sha256()
    for name in sorted(files):
        path = os.path.join(root, name)
        try:
            with open(path, "rb") as handle:
                content = handle.read()
            info = os.stat(path)
        except OSError as err:
            raise ReleaseError("%s: %s" % (path, err.strerror))
        meta = {"mode": info.st_mode & 0o7777, "uid": info.st_uid, "gid": info.st_gid}
        found[name] = dict(meta, content=content)
        digest.update(json.dumps([name, meta], sort_keys=True).encode() + b"\0" + content + b"\0")
    return digest.hexdigest()[:16], found


def _write(path: str, content: bytes, meta: Dict[str, Any]) -> None:
    """Write a file through a temporary file and a rename, with its mode and owner, flushed to disk."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temporary = os.path.join(directory, ".%s.frontier-tmp" % os.path.basename(path))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
        os.fchown(fd, meta["uid"], meta["gid"])
        os.fchmod(fd, meta["mode"])
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_release(dest: str) -> Optional[str]:
    """The id of the release ``dest`` points at, when it is a whole one."""
    if not os.path.islink(dest):
        return None
    target = os.path.join(os.path.dirname(dest), os.readlink(dest))
    if not os.path.isfile(os.path.join(target, MANIFEST)):
        return None
    return os.path.basename(target)


def save(root: str, files: List[str], dest: str, check_mode: bool) -> Dict[str, Any]:
    """Keep the files of ``root`` as the last healthy release (see the module's description)."""
    _check_names(files)
    if check_mode and not all(os.path.isfile(os.path.join(root, name)) for name in files):
        # Check mode on a host whose release files are not written yet: they would be, and then saved.
        return {"changed": True, "release": "", "found": current_release(dest) is not None, "files": sorted(files)}
    release, found = read_release(root, files)
    if current_release(dest) == release:
        return {"changed": False, "release": release, "found": True, "files": []}
    if check_mode:
        return {"changed": True, "release": release, "found": current_release(dest) is not None, "files": sorted(found)}
    store = dest + ".d"
    os.makedirs(store, mode=0o700, exist_ok=True)
    os.chmod(store, 0o700)
    target = os.path.join(store, release)
    if not os.path.isfile(os.path.join(target, MANIFEST)):
        staging = os.path.join(store, ".staging-%s-%d" % (release, os.getpid()))
        shutil.rmtree(staging, ignore_errors=True)
        for name, entry in found.items():
            _write(os.path.join(staging, name), entry["content"], entry)
        manifest = {name: {key: entry[key] for key in ("mode", "uid", "gid")} for name, entry in found.items()}
        _write(os.path.join(staging, MANIFEST), json.dumps(manifest, sort_keys=True).encode(),
               {"mode": 0o600, "uid": os.geteuid(), "gid": os.getegid()})
        shutil.rmtree(target, ignore_errors=True)
        os.rename(staging, target)
        _fsync_dir(store)
    previous = current_release(dest)
    # One rename replaces the link: a reader sees the old release or the new one, never a mix.
    link = dest + ".frontier-tmp"
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.relpath(target, os.path.dirname(dest)), link)
    if os.path.isdir(dest) and not os.path.islink(dest):
        # A last-good directory of an earlier version: replaced by the link.
        shutil.rmtree(dest)
    os.replace(link, dest)
    _fsync_dir(os.path.dirname(dest))
    for entry in os.listdir(store):
        if entry not in (release, previous):
            shutil.rmtree(os.path.join(store, entry), ignore_errors=True)
    return {"changed": True, "release": release, "found": True, "files": sorted(found)}


def restore(root: str, files: List[str], dest: str, check_mode: bool) -> Dict[str, Any]:
    """Write the last healthy release's files back into ``root`` (see the module's description)."""
    _check_names(files)
    release = current_release(dest)
    if release is None:
        return {"changed": False, "release": "", "found": False, "files": []}
    saved = os.path.join(os.path.dirname(dest), os.readlink(dest))
    with open(os.path.join(saved, MANIFEST), "rb") as handle:
        manifest = json.loads(handle.read())
    written = []
    for name in sorted(manifest):
        with open(os.path.join(saved, name), "rb") as handle:
            content = handle.read()
        path = os.path.join(root, name)
        try:
            with open(path, "rb") as handle:
                same = handle.read() == content
            info = os.stat(path)
            same = same and (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (
                manifest[name]["mode"], manifest[name]["uid"], manifest[name]["gid"])
        except OSError:
            same = False
        if not same:
            written.append(name)
            if not check_mode:
                _write(path, content, manifest[name])
    return {"changed": bool(written), "release": release, "found": True, "files": written}


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "files": {"type": "list", "elements": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["saved", "restored"], "default": "saved"},
        },
        supports_check_mode=True,
    )
    params = module.params
    action = save if params["state"] == "saved" else restore
    try:
        result = action(params["root"], params["files"], params["dest"], module.check_mode)
    except (ReleaseError, OSError, ValueError) as err:
        module.fail_json(msg="stack_release: %s" % err)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
