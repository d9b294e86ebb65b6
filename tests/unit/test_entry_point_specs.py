"""Every way into a role that the collection takes has an entry in that role's argument spec.

Ansible validates a role's variables only at the entry point it is entered by: ``include_role`` or
``import_role`` with ``tasks_from: X`` checks them against the entry ``X`` of the role's
``meta/argument_specs.yml`` and, when there is no such entry, checks nothing at all (0.2.0's
``playbooks/swarm.yml`` entered the swarm role through ``validate``, ``cluster`` and ``deploy`` only,
and its spec had ``main`` alone). A play's ``roles:`` entry and an include without ``tasks_from``
enter by ``main``.

This test reads every role's task and handler files, every playbook (``playbooks/``, ``site.yml``)
and the Molecule scenarios' playbooks, finds each ``include_role``/``import_role`` (blocks and
``rescue``/``always`` included) and each ``roles:`` entry of a play that names a role of this
collection, and fails for each entry point whose role's spec has no entry of that name. A target
given by a template cannot be checked, so it fails too. Each spec entry must also have its task file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = "frontier.llm"
INCLUDES = frozenset(prefix + action for prefix in ("", "ansible.builtin.", "ansible.legacy.")
                     for action in ("include_role", "import_role"))


@dataclass(frozen=True)
class Reference:
    """One way into a role: the file that takes it, the role's name as written and the entry point."""

    source: str
    role: str
    entry: str

    @property
    def templated(self) -> bool:
        """Whether the role or the entry point is given by a template, which only a run resolves."""
        return "{{" in self.role or "{{" in self.entry or "{%" in self.role or "{%" in self.entry


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """A safe loader that reads Ansible's own tags (``!unsafe``, ``!vault``) as plain values."""


def _plain(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    """Construct a node with an unknown tag as the plain scalar, list or mapping it is."""
    del suffix
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _plain)


def sources() -> List[Path]:
    """The files that may enter a role: the roles' tasks and handlers, the playbooks and Molecule's playbooks."""
    found: List[Path] = [ROOT / "site.yml"]
    for pattern in ("roles/*/tasks/**/*.yml", "roles/*/handlers/**/*.yml", "playbooks/**/*.yml", "molecule/**/*.yml"):
        found.extend(ROOT.glob(pattern))
    return sorted(set(path for path in found if path.is_file()))


def _walk(node: Any, source: str) -> Iterator[Reference]:
    """The references to roles in a parsed YAML document, at any depth (blocks, rescue, always, plays)."""
    if isinstance(node, dict):
        for action in INCLUDES & set(node):
            args = node[action]
            if isinstance(args, dict):
                yield Reference(source, str(args.get("name", args.get("role", ""))), str(args.get("tasks_from", "main")))
            else:  # free form: include_role: name=x tasks_from=y
                words = dict(word.split("=", 1) for word in str(args).split() if "=" in word)
                yield Reference(source, words.get("name", ""), words.get("tasks_from", "main"))
        if "hosts" in node and isinstance(node.get("roles"), list):
            for item in node["roles"]:
                name = item if isinstance(item, str) else item.get("role", item.get("name", ""))
                yield Reference(source, str(name), "main")
        for value in node.values():
            yield from _walk(value, source)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, source)


def references() -> List[Reference]:
    """Every reference to a role of this collection (or a bare role name) in the files of :func:`sources`."""
    found = []
    for path in sources():
        for document in yaml.load_all(path.read_text(), Loader=_Loader):  # nosec B506 - a SafeLoader
            for reference in _walk(document, str(path.relative_to(ROOT))):
                if reference.templated or role_path(reference.role) is not None or "." not in reference.role:
                    found.append(reference)
    return found


def role_path(name: str) -> Optional[Path]:
    """The directory of a role of this collection named ``frontier.llm.x`` or ``x``, or None."""
    short = name[len(COLLECTION) + 1:] if name.startswith(COLLECTION + ".") else name
    path = ROOT / "roles" / short
    return path if "." not in short and path.is_dir() else None


def spec_entries(role: Path) -> Dict[str, Any]:
    """The entries of a role's ``meta/argument_specs.yml`` (an empty dict without one)."""
    path = role / "meta" / "argument_specs.yml"
    if not path.is_file():
        return {}
    return (yaml.safe_load(path.read_text()) or {}).get("argument_specs") or {}


def _entry_points() -> Dict[Tuple[str, str], List[str]]:
    """Each (role, entry point) used, with the files that use it."""
    used: Dict[Tuple[str, str], List[str]] = {}
    for reference in references():
        if not reference.templated:
            used.setdefault((reference.role, reference.entry), []).append(reference.source)
    return used


ENTRY_POINTS = _entry_points()


def test_the_entry_points_are_found() -> None:
    """The scan sees the ways in that the collection is known to take, so an empty scan cannot pass."""
    assert ("frontier.llm.swarm", "validate") in ENTRY_POINTS
    assert "playbooks/swarm.yml" in ENTRY_POINTS[("frontier.llm.swarm", "validate")]
    assert ("frontier.llm.stack", "files") in ENTRY_POINTS
    assert ("frontier.llm.planner", "main") in ENTRY_POINTS


def test_no_role_or_entry_point_is_a_template() -> None:
    """A role or ``tasks_from`` given by a template cannot be checked here: name it."""
    assert [reference for reference in references() if reference.templated] == []


@pytest.mark.parametrize("role, entry", sorted(ENTRY_POINTS), ids=["%s:%s" % key for key in sorted(ENTRY_POINTS)])
def test_entry_point_has_a_spec_entry(role: str, entry: str) -> None:
    """The role exists in the collection and its spec has an entry for the entry point, so Ansible checks its input."""
    callers = " and ".join(sorted(set(ENTRY_POINTS[(role, entry)])))
    path = role_path(role)
    assert path is not None, "%s: no role %s in roles/" % (callers, role)
    entries = sorted(spec_entries(path))
    assert entry in entries, (
        "roles/%s/meta/argument_specs.yml has no entry %r: Ansible validates none of the role's variables where it "
        "is entered by tasks_from: %s (%s)" % (path.name, entry, entry, callers))


@pytest.mark.parametrize("role", sorted(path.parent.parent.name for path in ROOT.glob("roles/*/meta/argument_specs.yml")))
def test_each_spec_entry_has_its_task_file(role: str) -> None:
    """An entry names a task file of the role (``tasks/<entry>.yml``), else no ``tasks_from`` reaches it."""
    tasks = ROOT / "roles" / role / "tasks"
    missing: Set[str] = {entry for entry in spec_entries(ROOT / "roles" / role)
                         if not (tasks / (entry + ".yml")).is_file() and not (tasks / (entry + ".yaml")).is_file()}
    assert missing == set(), "roles/%s/meta/argument_specs.yml: entries without a task file: %s" % (role, sorted(missing))
