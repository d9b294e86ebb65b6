"""Every role's README has an example playbook, and Ansible accepts it.

The example is the first ``yaml`` block under the README's ``## Example`` heading. Each is
checked with ``ansible-playbook --syntax-check`` (the roles, modules and keywords it names must
exist); the planner's, which changes nothing, runs for real on this machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLES = sorted(path.name for path in (ROOT / "roles").iterdir() if (path / "meta" / "argument_specs.yml").is_file())
EXAMPLE = re.compile(r"^## Example\n(?:(?!^## ).)*?^```yaml\n(?P<body>.*?)^```", re.M | re.S)


def example(role: str) -> str:
    """The example playbook of a role's README."""
    match = EXAMPLE.search((ROOT / "roles" / role / "README.md").read_text())
    assert match, "roles/%s/README.md has no ```yaml block under '## Example'" % role
    return match.group("body")


def playbook(args: List[str], cwd: Path) -> subprocess.CompletedProcess:
    """ansible-playbook with the checkout's configuration, from ``cwd``."""
    env: Dict[str, str] = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                               ANSIBLE_CACHE_PLUGIN="memory")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.parametrize("role", ROLES)
def test_example_is_a_playbook_using_the_role(role: str) -> None:
    """The example is a playbook that uses the role by its FQCN."""
    body = example(role)
    plays = yaml.safe_load(body)
    assert isinstance(plays, list) and plays, "the example of %s is not a playbook" % role
    assert "frontier.llm.%s" % role in body


def test_examples_pass_the_syntax_check(tmp_path: Path) -> None:
    """All the examples, as one playbook, pass ansible-playbook --syntax-check (one run: each costs seconds)."""
    plays = [play for role in ROLES for play in yaml.safe_load(example(role))]
    book = tmp_path / "examples.yml"
    book.write_text(yaml.safe_dump(plays, sort_keys=False))
    inventory = "llm_hosts,mac_studios,buildhost,localhost,"
    proc = playbook(["--syntax-check", "-i", inventory, str(book)], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_planner_example_runs(tmp_path: Path) -> None:
    """The planner's example plans this machine (read-only) and prints the engine's limit."""
    plays = yaml.safe_load(example("planner"))
    plays[0]["hosts"] = "localhost"
    book = tmp_path / "example.yml"
    book.write_text(yaml.safe_dump(plays, sort_keys=False))
    # This machine may be a container without systemd, which the preflight refuses for the later roles.
    proc = playbook(["-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
                     "-e", '{"preflight_require_systemd": false}', str(book)], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"msg: '?\d+ MiB", proc.stdout), proc.stdout[-2000:]
