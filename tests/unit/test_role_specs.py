"""Every role's argument spec is the one source of its defaults and README table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
import yaml

import role_docs

ROOT = role_docs.ROOT
ROLES = role_docs.roles()


def test_there_are_roles() -> None:
    assert ROLES, "no role with meta/argument_specs.yml found"


@pytest.mark.parametrize("role", ROLES, ids=lambda path: path.name)
def test_defaults_are_generated_from_the_spec(role) -> None:
    assert (role / "defaults" / "main.yml").read_text() == role_docs.render_defaults(role), \
        "defaults/main.yml is stale: run tests/tools/role_docs.py --write"
    assert yaml.safe_load((role / "defaults" / "main.yml").read_text()) == role_docs.spec_defaults(role)


@pytest.mark.parametrize("role", ROLES, ids=lambda path: path.name)
def test_readme_table_matches_the_spec(role) -> None:
    section = role_docs.readme_section((role / "README.md").read_text())
    assert section == role_docs.render_table(role), "README.md is stale: run tests/tools/role_docs.py --write"


@pytest.mark.parametrize("role", ROLES, ids=lambda path: path.name)
def test_every_variable_is_prefixed_and_described(role: Path) -> None:
    """Every option of every entry point is the role's own (its prefix) or an input from another role (that role's)."""
    for entry, options in role_docs.load_entries(role).items():
        for name, option in options.items():
            assert name.startswith(role.name + "_") or role_docs.input_from(role, name), \
                f"{entry}: {name} lacks the prefix {role.name}_ (or another role's, for an input set by that role)"
            assert option.get("description"), f"{entry}: {name} has no description"
            assert option.get("type"), f"{entry}: {name} has no type"


@pytest.mark.parametrize("role", ROLES, ids=lambda path: path.name)
def test_inputs_from_other_roles_are_theirs(role: Path) -> None:
    """An input from another role has no default here (that role is its one source) and that role declares or sets it."""
    for entry, options in role_docs.load_entries(role).items():
        for name, option in options.items():
            owner = role_docs.input_from(role, name)
            if owner is None:
                continue
            assert "default" not in option and not option.get("required"), \
                f"{entry}: {name} is frontier.llm.{owner}'s: no default or required here"
            tasks = "\n".join(path.read_text() for path in (ROOT / "roles" / owner / "tasks").glob("*.yml"))
            assert name in role_docs.load_spec(ROOT / "roles" / owner) or re.search(r"^\s+%s:" % name, tasks, re.M), \
                f"{entry}: {name} is neither an option of frontier.llm.{owner} nor set by its tasks"


@pytest.mark.parametrize("role", ROLES, ids=lambda path: path.name)
def test_an_option_means_the_same_at_every_entry_point(role: Path) -> None:
    """An option that several entry points declare is defined once (a YAML anchor), so it reads the same at each."""
    seen: Dict[str, Tuple[str, Any]] = {}
    for entry, options in role_docs.load_entries(role).items():
        for name, option in options.items():
            first = seen.setdefault(name, (entry, option))
            assert option == first[1], f"{name} differs between the entry points {first[0]} and {entry}"
