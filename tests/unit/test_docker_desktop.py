"""Merging VM resources into Docker Desktop's settings file, both formats."""

from __future__ import annotations

import json

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.docker_desktop import DesktopSettingsError, merge

WANTED = {"memory_mib": 156672, "cpus": 22, "swap_mib": 4096, "disk_size_mib": 204800}
STORE = {"AutoStart": True, "MemoryMiB": 8192, "Cpus": 8, "SwapMiB": 1024, "DiskSizeMiB": 65536,
         "UseVirtualizationFramework": True, "SettingsVersion": 40}
LEGACY = {"autoStart": True, "memoryMiB": 8192, "cpus": 8, "swapMiB": 1024, "diskSizeMiB": 65536,
          "useVirtualizationFramework": True, "settingsVersion": 29}


@pytest.mark.parametrize("filename, data, keys", [
    ("settings-store.json", STORE, ("MemoryMiB", "Cpus", "SwapMiB", "DiskSizeMiB")),
    ("settings.json", LEGACY, ("memoryMiB", "cpus", "swapMiB", "diskSizeMiB")),
])
def test_merge_keeps_other_keys_and_casing(filename: str, data: dict, keys: tuple) -> None:
    text, changes, warnings = merge(json.dumps(data), filename, WANTED)
    merged = json.loads(text)
    assert [merged[key] for key in keys] == [156672, 22, 4096, 204800]
    assert {k: v for k, v in merged.items() if k not in keys} == {k: v for k, v in data.items() if k not in keys}
    assert set(changes) == set(keys)
    assert warnings == []
    # no key of the other format appears
    other = ("memoryMiB", "cpus") if filename == "settings-store.json" else ("MemoryMiB", "Cpus")
    assert not set(other) & set(merged)


def test_no_write_when_equal() -> None:
    data = dict(STORE, MemoryMiB=156672, Cpus=22, SwapMiB=4096, DiskSizeMiB=204800)
    original = json.dumps(data)
    text, changes, _warnings = merge(original, "settings-store.json", WANTED)
    assert changes == {} and text == original


def test_disk_image_is_never_shrunk() -> None:
    data = dict(STORE, DiskSizeMiB=512000)
    text, changes, warnings = merge(json.dumps(data), "settings-store.json", WANTED)
    assert json.loads(text)["DiskSizeMiB"] == 512000
    assert "DiskSizeMiB" not in changes
    assert "would delete every image and volume" in warnings[0]


def test_none_leaves_a_value_alone() -> None:
    _text, changes, _warnings = merge(json.dumps(STORE), "settings-store.json", {"memory_mib": 8192, "cpus": None})
    assert changes == {}


@pytest.mark.parametrize("text, filename, wanted, message", [
    ("{", "settings-store.json", WANTED, "not valid JSON"),
    ("[]", "settings-store.json", WANTED, "expected a JSON object"),
    ("{}", "other.json", WANTED, "not a Docker Desktop settings file"),
    ("{}", "settings.json", {"memory_mib": -1}, "memory_mib: -1 must be a whole number > 0"),
    ("{}", "settings.json", {"gpus": 1}, "gpus is not a Docker Desktop resource"),
])
def test_bad_input(text: str, filename: str, wanted: dict, message: str) -> None:
    with pytest.raises(DesktopSettingsError, match=message):
        merge(text, filename, wanted)
