"""meta/execution-environment.yml: an ansible-builder v3 definition that is also the collection's EE metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "meta" / "execution-environment.yml"


def definition() -> Dict[str, Any]:
    """The parsed definition."""
    return yaml.safe_load(DEFINITION.read_text())


def test_v3_with_a_base_image_and_ansible_core() -> None:
    """Version 3, a base image (the EE_BASE_IMAGE build argument's default) and ansible-core in exactly the claimed range."""
    data = definition()
    assert data["version"] == 3
    assert data["images"]["base_image"]["name"]
    claim = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert data["dependencies"]["ansible_core"]["package_pip"] == "ansible-core" + claim


def test_requirement_files_resolve_for_builder_and_for_introspection() -> None:
    """`ansible-builder create -f meta/...` reads them beside the file, introspection of an installed
    collection at its root: both copies exist and are identical."""
    deps = definition()["dependencies"]
    for key in ("python", "system"):
        name = deps[key]
        beside = (DEFINITION.parent / name)
        at_root = (ROOT / name)
        assert not beside.is_symlink() and not at_root.is_symlink(), "links enter the build context dangling"
        assert beside.read_text() == at_root.read_text(), "%s and meta/%s differ" % (name, name)


def test_the_ee_installs_the_collection_itself() -> None:
    """The galaxy requirements name frontier.llm (its dependencies come with it from galaxy.yml)."""
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    names = [entry["name"] for entry in definition()["dependencies"]["galaxy"]["collections"]]
    assert "%s.%s" % (galaxy["namespace"], galaxy["name"]) in names
