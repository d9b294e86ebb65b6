# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named API keys for the stack's gateway: generate, rotate with a grace period, revoke.

Plain Python with no Ansible import; the ``frontier.llm.api_keys`` module writes what
:func:`reconcile` computes. The store is a JSON object, name -> ``{"generation": N, "key": K,
"previous": K or null}``. A key is generated once and kept across runs; raising a key's
``generation`` rotates it: a new key is made and, with ``keep_previous``, the old one keeps
working until ``keep_previous`` is turned off (the grace period of a rotation). ``state:
absent`` revokes a key, and so does leaving it out of the list (the list is the declared state).
Keys never leave the host except through the module's ``no_log`` return value the role asks
for by name.

The Nginx map (:func:`nginx_map`) maps ``Authorization: Bearer <key>`` to the key's name, so
the gateway logs and rate-limits by name and never writes a key to its logs.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}\Z")
# Characters that are safe inside an Nginx map's quoted string and an HTTP header.
KEY_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{24,256}\Z")
KEY_PREFIX = "flm_"


class ApiKeyError(ValueError):
    """A key request the module refuses; the message names the entry and the field."""


def new_key() -> str:
    """A fresh key: 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def validate(entries: Any) -> List[Dict[str, Any]]:
    """Check the requested keys and fill in defaults; every error names the entry."""
    if not isinstance(entries, list):
        raise ApiKeyError("keys: expected a list of {name, state, generation, keep_previous, key}, got %r" % (entries,))
    out: List[Dict[str, Any]] = []
    seen = set()
    for index, entry in enumerate(entries):
        where = "keys[%d]" % index
        if not isinstance(entry, Mapping):
            raise ApiKeyError("%s: expected a dict with a name, got %r" % (where, entry))
        unknown = set(entry) - {"name", "state", "generation", "keep_previous", "key"}
        if unknown:
            raise ApiKeyError("%s: unknown field(s) %s" % (where, ", ".join(sorted(unknown))))
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ApiKeyError("%s.name: %r must be 1-32 of a-z 0-9 _ - starting with a letter or digit" % (where, name))
        if name in seen:
            raise ApiKeyError("%s.name: %r is listed twice" % (where, name))
        seen.add(name)
        state = entry.get("state", "present")
        if state not in ("present", "absent"):
            raise ApiKeyError("keys[%s].state: %r must be present or absent" % (name, state))
        generation = entry.get("generation", 1)
        if isinstance(generation, bool) or not isinstance(generation, int) or generation < 1:
            raise ApiKeyError("keys[%s].generation: %r must be a whole number >= 1" % (name, generation))
        keep_previous = entry.get("keep_previous", False)
        if not isinstance(keep_previous, bool):
            raise ApiKeyError("keys[%s].keep_previous: %r must be true or false" % (name, keep_previous))
        key = entry.get("key")
        if key is not None and (not isinstance(key, str) or not KEY_RE.match(key)):
            raise ApiKeyError("keys[%s].key: must be 24-256 characters of A-Z a-z 0-9 . _ ~ + / = -" % name)
        out.append({"name": name, "state": state, "generation": generation, "keep_previous": keep_previous, "key": key})
    return out


def reconcile(store: Mapping[str, Any], entries: List[Dict[str, Any]],
              make_key: Callable[[], str] = new_key, exclusive: bool = True) -> Tuple[Dict[str, Any], List[str]]:
    """The store after applying ``entries``, and a list of what changed (names only).

    With ``exclusive`` (the default), the entries are the whole declared state: a stored key that no entry names
    is revoked, as one listed with ``state: absent`` is. Without it, such keys are kept (:func:`unlisted` names
    them). Raise :class:`ApiKeyError` when two valid keys would differ only in case (:func:`check_distinct`).
    """
    result: Dict[str, Dict[str, Any]] = {name: dict(value) for name, value in store.items()}
    changes: List[str] = []
    if exclusive:
        named = {entry["name"] for entry in entries}
        for name in sorted(set(result) - named):
            del result[name]
            changes.append("revoked %s (no longer listed)" % name)
    for entry in entries:
        name = entry["name"]
        current = result.get(name)
        if entry["state"] == "absent":
            if current is not None:
                del result[name]
                changes.append("revoked %s" % name)
            continue
        if current is None:
            result[name] = {"generation": entry["generation"], "key": entry["key"] or make_key(), "previous": None}
            changes.append("created %s" % name)
            continue
        if entry["key"] is not None:
            # A key the user gives always wins; a generation bump alone never replaces it by a random one.
            if entry["key"] != current["key"]:
                previous = current["key"] if entry["keep_previous"] else None
                result[name] = {"generation": entry["generation"], "key": entry["key"], "previous": previous}
                changes.append("replaced %s" % name)
            elif entry["generation"] != int(current.get("generation", 1)):
                result[name] = dict(current, generation=entry["generation"])
                changes.append("set the generation of %s to %d" % (name, entry["generation"]))
        elif entry["generation"] > int(current.get("generation", 1)):
            previous = current["key"] if entry["keep_previous"] else None
            result[name] = {"generation": entry["generation"], "key": make_key(), "previous": previous}
            grace = ", the previous key still valid" if previous else ""
            changes.append("rotated %s to generation %d%s" % (name, entry["generation"], grace))
        elif entry["generation"] < int(current.get("generation", 1)):
            raise ApiKeyError("keys[%s].generation: %d is below the stored generation %d; a rotation cannot be undone"
                              % (name, entry["generation"], int(current["generation"])))
        if not entry["keep_previous"] and result[name].get("previous"):
            result[name] = dict(result[name], previous=None)
            changes.append("retired the previous key of %s" % name)
    check_distinct(result)
    return result, changes


def check_distinct(store: Mapping[str, Any]) -> None:
    """Raise when two valid keys are equal but for case, naming their entries (never the keys).

    Nginx's ``map`` compares strings without regard to case: it refuses such a pair ("conflicting parameter"),
    and would otherwise let either key stand for the other's name.
    """
    seen: Dict[str, str] = {}
    for name in sorted(store):
        for which in ("key", "previous"):
            key = store[name].get(which)
            if not key:
                continue
            label = name if which == "key" else "%s (previous key)" % name
            folded = str(key).lower()
            if folded in seen and seen[folded] != label:
                raise ApiKeyError("keys[%s] and keys[%s]: the two keys differ only in case, and the gateway compares "
                                  "keys without regard to case; give one of them another key" % (seen[folded], label))
            seen[folded] = label


def check_store(store: Any, path: str) -> Dict[str, Any]:
    """Validate a store read from disk; a damaged file is an error, never silently replaced."""
    if not isinstance(store, Mapping):
        raise ApiKeyError("%s: expected a JSON object of name -> key, got %s" % (path, type(store).__name__))
    for name, value in store.items():
        if not NAME_RE.match(str(name)) or not isinstance(value, Mapping) or not KEY_RE.match(str(value.get("key", ""))):
            raise ApiKeyError("%s: the entry %r is damaged; fix or remove it by hand" % (path, name))
        previous = value.get("previous")
        if previous is not None and not KEY_RE.match(str(previous)):
            raise ApiKeyError("%s: the previous key of %r is damaged" % (path, name))
    return dict(store)


def nginx_map(store: Mapping[str, Any]) -> str:
    """The body of an Nginx ``map $http_authorization $frontier_key_name`` block."""
    lines = ["# Written by frontier.llm.api_keys: Authorization header -> key name. Do not edit."]
    for name in sorted(store):
        value = store[name]
        lines.append('"Bearer %s" %s;' % (value["key"], name))
        if value.get("previous"):
            lines.append('"Bearer %s" %s;' % (value["previous"], name))
    return "\n".join(lines) + "\n"


def unlisted(store: Mapping[str, Any], entries: List[Dict[str, Any]]) -> List[str]:
    """Stored keys that no entry names: still valid, which their owner may not expect."""
    named = {entry["name"] for entry in entries}
    return sorted(name for name in store if name not in named)


def summary(store: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    """What may be shown: each name with its generation and whether a previous key is valid."""
    return {name: {"generation": int(value.get("generation", 1)), "previous_valid": bool(value.get("previous"))}
            for name, value in sorted(store.items())}


def secrets_for(store: Mapping[str, Any], names: Optional[List[str]]) -> Dict[str, str]:
    """The current keys of the named entries (for the role's own checks; returned under no_log)."""
    return {name: store[name]["key"] for name in (names or []) if name in store}
