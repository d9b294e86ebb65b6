"""Every role's argument spec is the one source of its defaults and README table."""

from __future__ import annotations

import pytest
import yaml

import role_docs

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
def test_every_variable_is_prefixed_and_described(role) -> None:
    for name, option in role_docs.load_spec(role).items():
        assert name.startswith(role.name + "_"), f"{name} lacks the prefix {role.name}_"
        assert option.get("description"), f"{name} has no description"
        assert option.get("type"), f"{name} has no type"
