"""frontier.llm.pmset: the parser on macOS-shaped output, and the module end to end against a fake pmset.

No Mac is reachable here: tests/unit/fakes/fake_pmset.py is a test double that prints the
fixtures for `pmset -g custom` and records every other call; each test installs it as
`pmset` in a directory first on PATH, and the module itself runs for real, through ansible
on localhost.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest

from ansible_collections.frontier.llm.plugins.module_utils import pmset
from conftest import adhoc, install_fake

FIXTURES = Path(__file__).parent / "fixtures" / "pmset"
FAKES = Path(__file__).parent / "fakes"


def test_parse_desktop() -> None:
    sections = pmset.parse_custom((FIXTURES / "desktop-ac.txt").read_text())
    assert list(sections) == ["ac"]
    assert sections["ac"]["sleep"] == "1"  # the note in parentheses is dropped
    assert sections["ac"]["Sleep On Power Button"] == "1"
    assert sections["ac"]["hibernatefile"] == "/var/vm/sleepimage"
    assert "lidwake" not in sections["ac"]


def test_parse_laptop() -> None:
    sections = pmset.parse_custom((FIXTURES / "laptop-ac-battery.txt").read_text())
    assert sorted(sections) == ["ac", "battery"]
    assert sections["battery"]["displaysleep"] == "2"
    assert sections["ac"]["displaysleep"] == "10"
    assert sections["ac"]["sleep"] == "1"
    assert sections["battery"]["standbydelaylow"] == "10800"


def test_parse_ignores_system_wide_lines_and_blank_lines() -> None:
    text = "System-wide power settings:\n SleepDisabled\t\t0\nCurrently in use:\n sleep 1\n\nAC Power:\n sleep                0\n"
    assert pmset.parse_custom(text) == {"ac": {"sleep": "0"}}


@pytest.mark.parametrize("settings, message", [
    ({"sleeep": 0}, "unknown pmset key 'sleeep'"),
    ({"sleep": -1}, "settings.sleep: -1 is not a whole number"),
    ({"sleep": "never"}, "settings.sleep: 'never' is not a whole number"),
    ({"womp": 2}, "settings.womp: 2 must be 0 or 1"),
    ({"hibernatemode": 1}, "settings.hibernatemode: 1 is not one of 0, 3, 25"),
    ({"highstandbythreshold": 150}, "above 100"),
    ({"hibernatefile": "sleepimage"}, "not an absolute path"),
])
def test_bad_settings(settings: Dict[str, Any], message: str) -> None:
    with pytest.raises(pmset.PmsetError, match=message):
        pmset.normalise(settings)


def test_normalise_spells_values_as_pmset_prints_them() -> None:
    assert pmset.normalise({"sleep": 0, "womp": True, "disksleep": "010"}) == {"sleep": "0", "womp": "1", "disksleep": "10"}


def test_plan_call_only_the_differing_keys() -> None:
    current = pmset.parse_custom((FIXTURES / "laptop-ac-battery.txt").read_text())
    args, differing = pmset.plan_call(current, "all", pmset.normalise({"sleep": 0, "disksleep": 10, "womp": 1}))
    assert args == ["-a", "sleep", "0", "womp", "1"]
    assert differing == {"battery": {"sleep": "1", "womp": "0"}, "ac": {"sleep": "1"}}


def test_plan_call_nothing_to_do() -> None:
    current = pmset.parse_custom((FIXTURES / "desktop-ac.txt").read_text())
    assert pmset.plan_call(current, "ac", {"disksleep": "10", "sleep": "1"}) == ([], {})


def test_battery_scope_on_a_desktop_fails_clearly() -> None:
    current = pmset.parse_custom((FIXTURES / "desktop-ac.txt").read_text())
    with pytest.raises(pmset.PmsetError, match="no battery settings"):
        pmset.plan_call(current, "battery", {"sleep": "0"})


def test_key_the_mac_lacks_fails_clearly() -> None:
    current = pmset.parse_custom((FIXTURES / "desktop-ac.txt").read_text())
    with pytest.raises(pmset.PmsetError, match="has no 'lidwake' under AC Power"):
        pmset.plan_call(current, "all", {"lidwake": "0"})


# --- the module, end to end --------------------------------------------------------------

def run_pmset(tmp_path: Path, fixture: str, args: Dict[str, Any], check: bool = False, apply: bool = False) -> Dict[str, Any]:
    output = tmp_path / "pmset-custom.txt"
    if not output.exists():
        shutil.copy(FIXTURES / fixture, output)
    env = {"PATH": str(install_fake(tmp_path / "bin", "pmset", FAKES / "fake_pmset.py")) + os.pathsep + os.environ["PATH"],
           "FAKE_PMSET_OUTPUT": str(output), "FAKE_PMSET_LOG": str(tmp_path / "calls.log"),
           "FAKE_PMSET_APPLY": "1" if apply else "0"}
    return adhoc("frontier.llm.pmset", args, env, ["--check", "--diff"] if check else [])


def calls(tmp_path: Path) -> List[List[str]]:
    log = tmp_path / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_module_makes_no_call_when_nothing_differs(tmp_path: Path) -> None:
    result = run_pmset(tmp_path, "desktop-ac.txt", {"settings": {"disksleep": 10, "displaysleep": 10}})
    assert result["changed"] is False and result["command"] == []
    assert calls(tmp_path) == []


def test_module_one_call_with_exactly_the_differing_keys(tmp_path: Path) -> None:
    result = run_pmset(tmp_path, "laptop-ac-battery.txt", {"scope": "all", "settings": {"sleep": 0, "disksleep": 0, "lidwake": 1}})
    assert result["changed"] is True
    assert calls(tmp_path) == [["-a", "sleep", "0", "disksleep", "0"]]


def test_module_check_mode_calls_nothing_and_shows_the_diff(tmp_path: Path) -> None:
    result = run_pmset(tmp_path, "desktop-ac.txt", {"settings": {"sleep": 0}}, check=True)
    assert result["changed"] is True
    assert result["command"] == ["-a", "sleep", "0"]
    assert result["diff"] == {"before": "ac sleep 1\n", "after": "ac sleep 0\n"}
    assert calls(tmp_path) == []


def test_module_is_idempotent_once_applied(tmp_path: Path) -> None:
    first = run_pmset(tmp_path, "laptop-ac-battery.txt", {"scope": "ac", "settings": {"sleep": 0, "disksleep": 0}}, apply=True)
    second = run_pmset(tmp_path, "laptop-ac-battery.txt", {"scope": "ac", "settings": {"sleep": 0, "disksleep": 0}}, apply=True)
    assert first["changed"] is True and second["changed"] is False
    assert calls(tmp_path) == [["-c", "sleep", "0", "disksleep", "0"]]


def test_module_fails_clearly_on_a_bad_value(tmp_path: Path) -> None:
    result = run_pmset(tmp_path, "desktop-ac.txt", {"settings": {"sleep": "forever"}})
    assert result["failed"] is True
    assert "settings.sleep: 'forever' is not a whole number" in result["msg"]
    assert calls(tmp_path) == []
