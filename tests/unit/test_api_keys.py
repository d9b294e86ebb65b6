"""Named API keys: generate once, rotate with a grace period, revoke; the module on a real file."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any, Dict

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.apikeys import (
    ApiKeyError,
    nginx_map,
    reconcile,
    summary,
    unlisted,
    validate,
)
from conftest import adhoc


def counter() -> Any:
    numbers = itertools.count(1)
    return lambda: "flm_generated_key_number_%04d" % next(numbers)


def test_keys_are_made_once_and_kept() -> None:
    make = counter()
    store, changes = reconcile({}, validate([{"name": "alice"}]), make)
    assert changes == ["created alice"] and store["alice"]["key"] == "flm_generated_key_number_0001"
    again, changes = reconcile(store, validate([{"name": "alice"}]), make)
    assert again == store and changes == []


def test_rotation_with_a_grace_period_then_retirement() -> None:
    make = counter()
    store, _changes = reconcile({}, validate([{"name": "ci"}, {"name": "alice"}]), make)
    old = store["ci"]["key"]
    rotated, changes = reconcile(store, validate([{"name": "ci", "generation": 2, "keep_previous": True},
                                                  {"name": "alice"}]), make)
    assert rotated["ci"]["previous"] == old and rotated["ci"]["key"] != old
    assert rotated["alice"] == store["alice"]  # the others are untouched
    text = nginx_map(rotated)
    assert '"Bearer %s" ci;' % old in text and '"Bearer %s" ci;' % rotated["ci"]["key"] in text
    retired, changes = reconcile(rotated, validate([{"name": "ci", "generation": 2}, {"name": "alice"}]), make)
    assert retired["ci"]["previous"] is None and changes == ["retired the previous key of ci"]
    assert old not in nginx_map(retired)


def test_rotation_without_grace_drops_the_old_key_at_once() -> None:
    make = counter()
    store, _changes = reconcile({}, validate([{"name": "ci"}]), make)
    rotated, _changes = reconcile(store, validate([{"name": "ci", "generation": 2}]), make)
    assert store["ci"]["key"] not in nginx_map(rotated)


def test_revocation_and_no_going_back() -> None:
    store, _changes = reconcile({}, validate([{"name": "bob"}, {"name": "eve"}]), counter())
    revoked, changes = reconcile(store, validate([{"name": "bob"}, {"name": "eve", "state": "absent"}]), counter())
    assert "eve" not in revoked and "bob" in revoked and changes == ["revoked eve"]
    rotated, _changes = reconcile(store, validate([{"name": "bob", "generation": 3}]), counter())
    with pytest.raises(ApiKeyError, match="cannot be undone"):
        reconcile(rotated, validate([{"name": "bob", "generation": 2}]), counter())


def test_a_given_key_survives_a_generation_bump() -> None:
    given = "given_by_the_user_from_vault_0001"
    store, _changes = reconcile({}, validate([{"name": "ci", "key": given}]), counter())
    bumped, changes = reconcile(store, validate([{"name": "ci", "key": given, "generation": 2}]), counter())
    assert bumped["ci"]["key"] == given and bumped["ci"]["generation"] == 2
    again, changes = reconcile(bumped, validate([{"name": "ci", "key": given, "generation": 2}]), counter())
    assert again == bumped and changes == []


def test_unlisted_keys_are_kept_and_reported_only_when_not_exclusive() -> None:
    store, _changes = reconcile({}, validate([{"name": "alice"}, {"name": "bob"}]), counter())
    kept, changes = reconcile(store, validate([{"name": "alice"}]), counter(), exclusive=False)
    assert kept == store and changes == [] and unlisted(kept, validate([{"name": "alice"}])) == ["bob"]


def test_a_key_no_longer_listed_is_revoked() -> None:
    """The list is the declared state: a key deleted from it (not only state: absent) stops working."""
    store, _changes = reconcile({}, validate([{"name": "alice"}, {"name": "bob"}]), counter())
    after, changes = reconcile(store, validate([{"name": "alice"}]), counter())
    assert "bob" not in after and changes == ["revoked bob (no longer listed)"]
    assert store["bob"]["key"] not in nginx_map(after) and store["alice"]["key"] in nginx_map(after)


@pytest.mark.parametrize("entries", [
    [{"name": "alice", "key": "Same_key_in_two_cases_0001"}, {"name": "bob", "key": "same_key_in_two_cases_0001"}],
    [{"name": "alice", "key": "Same_key_in_two_cases_0001"}, {"name": "bob", "key": "Same_key_in_two_cases_0001"}],
])
def test_keys_equal_but_for_case_are_refused(entries: Any) -> None:
    """Nginx's map compares without regard to case: such a pair would make nginx -t fail (or one key the other's)."""
    with pytest.raises(ApiKeyError, match=r"keys\[alice\] and keys\[bob\]: the two keys differ only in case"):
        reconcile({}, validate(entries), counter())


def test_a_new_key_equal_to_a_previous_key_but_for_case_is_refused() -> None:
    store, _changes = reconcile({}, validate([{"name": "ci", "key": "Old_ci_key_kept_in_grace_0001"},
                                              {"name": "bob"}]), counter())
    rotated, _changes = reconcile(store, validate([
        {"name": "ci", "key": "New_ci_key_after_rotation_001", "keep_previous": True}, {"name": "bob"}]), counter())
    with pytest.raises(ApiKeyError, match=r"keys\[bob\] and keys\[ci \(previous key\)\]"):
        reconcile(rotated, validate([{"name": "ci", "key": "New_ci_key_after_rotation_001", "keep_previous": True},
                                     {"name": "bob", "key": "OLD_CI_KEY_KEPT_IN_GRACE_0001"}]), counter())


@pytest.mark.parametrize("entries, message", [
    ("alice", "expected a list"),
    ([{"name": "Alice"}], "keys\\[0\\].name"),
    ([{"name": 'a"; allow all; #'}], "keys\\[0\\].name"),
    ([{"name": "a"}, {"name": "a"}], "listed twice"),
    ([{"name": "a", "state": "gone"}], "state"),
    ([{"name": "a", "generation": 0}], "generation"),
    ([{"name": "a", "key": 'short'}], "24-256"),
    ([{"name": "a", "key": 'x' * 30 + '" a; "'}], "24-256"),
    ([{"name": "a", "colour": "red"}], "unknown field"),
])
def test_bad_entries_are_refused(entries: Any, message: str) -> None:
    with pytest.raises(ApiKeyError, match=message):
        validate(entries)


def test_summary_never_holds_a_key() -> None:
    store, _changes = reconcile({}, validate([{"name": "alice"}]), counter())
    assert "flm_" not in json.dumps(summary(store))


def test_module_refuses_keys_equal_but_for_case_and_writes_nothing(tmp_path: Path) -> None:
    first = run(tmp_path, [{"name": "alice"}, {"name": "bob"}])
    assert first["changed"]
    before = {name: (tmp_path / name).read_text() for name in ("keys.json", "keys.map")}
    alice = json.loads(before["keys.json"])["alice"]["key"]
    refused = run(tmp_path, [{"name": "alice"}, {"name": "bob", "key": alice.upper()}])
    assert refused.get("failed") and "differ only in case" in refused["msg"] and alice not in refused["msg"]
    assert {name: (tmp_path / name).read_text() for name in ("keys.json", "keys.map")} == before


def run(tmp_path: Path, keys: Any, check: bool = False) -> Dict[str, Any]:
    return adhoc("frontier.llm.api_keys", {"path": str(tmp_path / "keys.json"), "map_path": str(tmp_path / "keys.map"),
                                           "keys": keys, "return_keys": ["alice"]},
                 options=["--check"] if check else None)


def test_module_writes_private_files_and_is_idempotent(tmp_path: Path) -> None:
    checked = run(tmp_path, [{"name": "alice"}], check=True)
    assert checked["changed"] and not (tmp_path / "keys.json").exists()
    first = run(tmp_path, [{"name": "alice"}])
    assert first["changed"] and first["changes"] == ["created alice"]
    assert first["key_status"] == {"alice": {"generation": 1, "previous_valid": False}}
    for name in ("keys.json", "keys.map"):
        assert (os.stat(tmp_path / name).st_mode & 0o777) == 0o600
    key = json.loads((tmp_path / "keys.json").read_text())["alice"]["key"]
    assert first["secrets"] == {"alice": key} and key.startswith("flm_")
    second = run(tmp_path, [{"name": "alice"}])
    assert not second["changed"]
    assert not run(tmp_path, [{"name": "alice"}], check=True)["changed"]


def test_module_refuses_a_damaged_store(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text('{"alice": {"key": "x"}}')
    result = run(tmp_path, [{"name": "alice"}])
    assert result.get("failed") and "damaged" in result["msg"]
    assert (tmp_path / "keys.json").read_text() == '{"alice": {"key": "x"}}'
