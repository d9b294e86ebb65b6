# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge VM resources into Docker Desktop's settings file, keeping every other key.

Docker Desktop 4.35 and later keep settings in ``settings-store.json`` with PascalCase keys
(``MemoryMiB``, ``Cpus``, ``SwapMiB``, ``DiskSizeMiB``); 4.34 and earlier in
``settings.json`` with camelCase keys (``memoryMiB``, ``cpus``, ``swapMiB``,
``diskSizeMiB``). Both live in ``~/Library/Group Containers/group.com.docker``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Tuple

from ansible_collections.frontier.llm.plugins.module_utils.hostinfo import DOCKER_DESKTOP_KEYS

FILES = ("settings-store.json", "settings.json")


class DesktopSettingsError(ValueError):
    """A settings file or value that cannot be used; the message names it."""


def key_for(name: str, filename: str) -> str:
    """The key of a resource (memory_mib, cpus, swap_mib, disk_size_mib) in the given file's format."""
    store, legacy = DOCKER_DESKTOP_KEYS[name]
    return store if filename == "settings-store.json" else legacy


def merge(text: str, filename: str, wanted: Mapping[str, Any]) -> Tuple[str, Dict[str, Tuple[Any, Any]], List[str]]:
    """Return (new text, {key: (old, new)} of what changes, warnings).

    Values of None are left as they are. The disk image is never shrunk: Docker Desktop
    recreates a smaller disk image and its images and volumes with it, so a smaller
    ``disk_size_mib`` is kept as it is, with a warning.
    """
    if filename not in FILES:
        raise DesktopSettingsError("%s: not a Docker Desktop settings file (%s)" % (filename, " or ".join(FILES)))
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as err:
        raise DesktopSettingsError("%s: not valid JSON (%s)" % (filename, err)) from None
    if not isinstance(data, dict):
        raise DesktopSettingsError("%s: expected a JSON object" % filename)
    changes: Dict[str, Tuple[Any, Any]] = {}
    warnings: List[str] = []
    for name, value in wanted.items():
        if name not in DOCKER_DESKTOP_KEYS:
            raise DesktopSettingsError("%s is not a Docker Desktop resource (%s)" % (name, ", ".join(DOCKER_DESKTOP_KEYS)))
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise DesktopSettingsError("%s: %r must be a whole number > 0" % (name, value))
        key = key_for(name, filename)
        old = data.get(key)
        if name == "disk_size_mib" and isinstance(old, int) and value < old:
            warnings.append("%s: keeping the disk image at %d MiB; shrinking it to %d MiB would delete every image "
                            "and volume" % (key, old, value))
            continue
        if old != value:
            changes[key] = (old, value)
            data[key] = value
    if not changes:
        return text, changes, warnings
    return json.dumps(data, indent=2) + "\n", changes, warnings
