"""frontier.llm.stack_release: the last healthy release saved whole or not at all, and restored as it was saved."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import pytest

from ansible_collections.frontier.llm.plugins.modules import stack_release
from conftest import adhoc

FILES = ["compose.yml", "engine.env", "nginx/nginx.conf"]


def release(root: Path, version: str) -> None:
    """Write a release's files, with the modes the stack role gives them."""
    (root / "nginx").mkdir(parents=True, exist_ok=True)
    for name, mode in (("compose.yml", 0o644), ("engine.env", 0o600), ("nginx/nginx.conf", 0o600)):
        (root / name).write_text("%s %s\n" % (name, version))
        (root / name).chmod(mode)


def contents(root: Path) -> Dict[str, str]:
    return {name: (root / name).read_text() for name in FILES}


def test_save_is_idempotent_and_a_new_release_switches_the_link(tmp_path: Path) -> None:
    root, dest = tmp_path / "stack", str(tmp_path / "stack" / "last-good")
    release(root, "v1")
    first = stack_release.save(str(root), FILES, dest, check_mode=False)
    assert first["changed"] and os.path.islink(dest)
    assert stack_release.save(str(root), FILES, dest, check_mode=False)["changed"] is False
    release(root, "v2")
    assert stack_release.save(str(root), FILES, dest, check_mode=True)["changed"] is True
    assert os.readlink(dest).endswith(first["release"])  # check mode wrote nothing
    second = stack_release.save(str(root), FILES, dest, check_mode=False)
    assert second["changed"] and os.readlink(dest).endswith(second["release"])
    release(root, "v3")
    third = stack_release.save(str(root), FILES, dest, check_mode=False)
    # The release before is kept, older ones removed.
    assert sorted(os.listdir(dest + ".d")) == sorted([second["release"], third["release"]])


def test_restore_brings_back_contents_and_modes(tmp_path: Path) -> None:
    root, dest = tmp_path / "stack", str(tmp_path / "stack" / "last-good")
    release(root, "good")
    stack_release.save(str(root), FILES, dest, check_mode=False)
    release(root, "broken")
    (root / "engine.env").chmod(0o644)
    assert stack_release.restore(str(root), FILES, dest, check_mode=True)["changed"] is True
    assert contents(root)["compose.yml"] == "compose.yml broken\n"
    restored = stack_release.restore(str(root), FILES, dest, check_mode=False)
    assert restored["changed"] and restored["files"] == sorted(FILES)
    assert contents(root) == {name: "%s good\n" % name for name in FILES}
    assert (root / "engine.env").stat().st_mode & 0o777 == 0o600
    assert (root / "compose.yml").stat().st_mode & 0o777 == 0o644
    assert stack_release.restore(str(root), FILES, dest, check_mode=False)["changed"] is False


def test_nothing_to_restore_without_a_saved_release(tmp_path: Path) -> None:
    result = stack_release.restore(str(tmp_path), FILES, str(tmp_path / "last-good"), check_mode=False)
    assert result == {"changed": False, "release": "", "found": False, "files": []}


def test_a_save_that_dies_before_the_switch_leaves_the_last_release_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, dest = tmp_path / "stack", str(tmp_path / "stack" / "last-good")
    release(root, "good")
    stack_release.save(str(root), FILES, dest, check_mode=False)
    release(root, "new")
    real_replace = os.replace

    def die_on_the_link(src: str, dst: str) -> None:
        if dst == dest:
            raise OSError(5, "the run died here")
        real_replace(src, dst)

    monkeypatch.setattr(stack_release.os, "replace", die_on_the_link)
    with pytest.raises(OSError):
        stack_release.save(str(root), FILES, dest, check_mode=False)
    monkeypatch.setattr(stack_release.os, "replace", real_replace)
    # The link still names the whole good release: a rollback now restores it, not a mix.
    release(root, "broken")
    stack_release.restore(str(root), FILES, dest, check_mode=False)
    assert contents(root) == {name: "%s good\n" % name for name in FILES}
    # The next save completes the interrupted one.
    release(root, "new")
    assert stack_release.save(str(root), FILES, dest, check_mode=False)["changed"] is True
    release(root, "broken")
    stack_release.restore(str(root), FILES, dest, check_mode=False)
    assert contents(root) == {name: "%s new\n" % name for name in FILES}


def test_an_earlier_last_good_directory_is_replaced_by_the_link(tmp_path: Path) -> None:
    root, dest = tmp_path / "stack", tmp_path / "stack" / "last-good"
    release(root, "v1")
    (dest / "nginx").mkdir(parents=True)
    (dest / "compose.yml").write_text("old copy\n")
    assert stack_release.save(str(root), FILES, str(dest), check_mode=False)["changed"]
    assert dest.is_symlink()


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "a/../b", "release.json", ""])
def test_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(stack_release.ReleaseError, match="plain path relative to root"):
        stack_release.save(str(tmp_path), [name], str(tmp_path / "last-good"), check_mode=False)


def test_the_module_through_ansible(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    release(root, "v1")
    args = {"root": str(root), "files": FILES, "dest": str(root / "last-good")}
    assert adhoc("frontier.llm.stack_release", args)["changed"] is True
    assert adhoc("frontier.llm.stack_release", args)["changed"] is False
    missing = adhoc("frontier.llm.stack_release", dict(args, files=FILES + ["nope.yml"]))
    assert missing["failed"] and "nope.yml" in missing["msg"]
