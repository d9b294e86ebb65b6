# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read ``pmset -g custom`` and work out the one ``pmset`` call that makes settings true.

``pmset -g custom`` prints a section per power source, a heading flush left
(``Battery Power:``, ``AC Power:``, ``UPS Power:``) and one setting per indented line:
the key (which may hold spaces, as ``Sleep On Power Button``), white space, the value,
and sometimes a note in parentheses (``sleep 1 (sleep prevented by coreaudiod)``).
A desktop Mac has only the AC section. Keys and their values: pmset(1).
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Tuple

SECTIONS = {"Battery Power": "battery", "AC Power": "ac", "UPS Power": "ups"}
# scope -> (pmset flag, sections it sets)
SCOPES: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "all": ("-a", ("battery", "ac", "ups")),
    "ac": ("-c", ("ac",)),
    "battery": ("-b", ("battery",)),
    "ups": ("-u", ("ups",)),
}
_HEADING = re.compile(r"^(?P<name>[A-Za-z][A-Za-z ]*?):\s*$")
_SETTING = re.compile(r"^\s+(?P<key>\S.*?)\s+(?P<value>\S+)(?:\s+\((?P<note>.*)\))?\s*$")

# Settable keys (pmset(1)) and the values each takes: "minutes" is a whole number of
# minutes, 0 meaning never; "flag" is 0 or 1; a tuple lists the values; "seconds" and
# "percent" are whole numbers; "path" is a file path.
KEYS: Dict[str, object] = {
    "displaysleep": "minutes", "disksleep": "minutes", "sleep": "minutes",
    "womp": "flag", "ring": "flag", "autorestart": "flag", "lidwake": "flag", "acwake": "flag",
    "lessbright": "flag", "halfdim": "flag", "sms": "flag", "standby": "flag", "autopoweroff": "flag",
    "powernap": "flag", "proximitywake": "flag", "tcpkeepalive": "flag", "ttyskeepawake": "flag",
    "networkoversleep": "flag", "destroyfvkeyonstandby": "flag", "lowpowermode": "flag",
    "hibernatemode": ("0", "3", "25"), "powermode": ("0", "1", "2"),
    "standbydelay": "seconds", "standbydelaylow": "seconds", "standbydelayhigh": "seconds",
    "autopoweroffdelay": "seconds", "highstandbythreshold": "percent",
    "hibernatefile": "path",
}


class PmsetError(ValueError):
    """Settings pmset cannot take, or output that cannot be read; the message says which."""


def parse_custom(text: str) -> Dict[str, Dict[str, str]]:
    """Map each section (battery, ac, ups) to its settings, key -> value as printed (notes dropped)."""
    sections: Dict[str, Dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        heading = _HEADING.match(line)
        if heading and not line[0].isspace():
            current = SECTIONS.get(heading.group("name"))
            if current is not None:
                sections.setdefault(current, {})
            continue
        setting = _SETTING.match(line)
        if setting and current is not None:
            sections[current][setting.group("key")] = setting.group("value")
    return sections


def normalise(settings: Mapping[str, object]) -> Dict[str, str]:
    """Check the wanted settings against pmset(1) and spell their values as pmset prints them."""
    out: Dict[str, str] = {}
    for key, value in settings.items():
        if key not in KEYS:
            raise PmsetError("settings: unknown pmset key %r; known keys: %s" % (key, ", ".join(sorted(KEYS))))
        kind = KEYS[key]
        if isinstance(value, bool):
            value = int(value)
        text = str(value).strip()
        if kind == "path":
            if not text.startswith("/"):
                raise PmsetError("settings.%s: %r is not an absolute path" % (key, value))
        elif isinstance(kind, tuple):
            if text not in kind:
                raise PmsetError("settings.%s: %r is not one of %s" % (key, value, ", ".join(kind)))
        elif not text.isdigit():
            raise PmsetError("settings.%s: %r is not a whole number >= 0 (%s)" % (key, value, kind))
        elif kind == "flag" and text not in ("0", "1"):
            raise PmsetError("settings.%s: %r must be 0 or 1" % (key, value))
        elif kind == "percent" and int(text) > 100:
            raise PmsetError("settings.%s: %r is above 100" % (key, value))
        else:
            text = str(int(text))
        out[key] = text
    return out


def plan_call(current: Mapping[str, Mapping[str, str]], scope: str, wanted: Mapping[str, str]) -> Tuple[List[str], Dict[str, Dict[str, str]]]:
    """Return the pmset arguments that make ``wanted`` true in ``scope`` (empty when nothing differs).

    Also returns, per section, the settings that differ as (key -> current value). A key
    absent from a section the scope covers is not supported on this Mac there: an error.
    """
    if scope not in SCOPES:
        raise PmsetError("scope: %r is unknown; choose one of %s" % (scope, ", ".join(SCOPES)))
    flag, names = SCOPES[scope]
    present = [name for name in names if name in current]
    if not present:
        raise PmsetError("scope: %r, but this Mac's pmset -g custom has no %s settings (it has: %s)"
                         % (scope, " or ".join(names), ", ".join(sorted(current)) or "none"))
    differing: Dict[str, Dict[str, str]] = {}
    keys: List[str] = []
    for name in present:
        for key, value in wanted.items():
            if key not in current[name]:
                raise PmsetError("settings.%s: this Mac's pmset -g custom has no %r under %s Power; it is not "
                                 "supported here" % (key, key, name.upper() if name in ("ac", "ups") else "Battery"))
            if current[name][key] != value:
                differing.setdefault(name, {})[key] = current[name][key]
                if key not in keys:
                    keys.append(key)
    if not keys:
        return [], differing
    args = [flag]
    for key in keys:
        args += [key, wanted[key]]
    return args, differing
