"""The ``ansible`` marker (conftest.py): the release check runs only the marked tests under the other ansible-core versions.

A test module is marked when it, or what it imports, imports ansible-core or names one of its commands; every test is
also watched while it runs. These check both readings on small made-up modules and command lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import ROOT, ansible_command, ansible_use

UNIT = ROOT / "tests" / "unit"


def module(directory: Path, name: str, source: str) -> Path:
    path = directory / (name + ".py")
    path.write_text(source)
    return path


def test_plain_python_is_not_marked(tmp_path: Path) -> None:
    assert ansible_use(module(tmp_path, "test_plain", "import json\nimport subprocess\nprint(json.dumps([1]))\n")) is None


@pytest.mark.parametrize("source", [
    "import ansible\n",
    "from ansible.errors import AnsibleFilterError\n",
    "def test():\n    from ansible.module_utils.basic import AnsibleModule\n",
    "import ansible.release as release\n",
])
def test_an_import_of_ansible_core_marks_the_module(tmp_path: Path, source: str) -> None:
    assert "imports ansible" in (ansible_use(module(tmp_path, "test_imports", source)) or "")


@pytest.mark.parametrize("command", ["ansible-playbook", "ansible", "ansible-doc", "/venv/bin/ansible-galaxy"])
def test_naming_an_ansible_command_marks_the_module(tmp_path: Path, command: str) -> None:
    source = "import subprocess\nsubprocess.run([%r, '--version'])\n" % command
    assert "names the command" in (ansible_use(module(tmp_path, "test_runs", source)) or "")


def test_words_about_ansible_do_not_mark_a_module(tmp_path: Path) -> None:
    source = '"""Rendered the way ansible-playbook renders it."""\nCLAIM = "ansible-core>=2.17"\nNAME = "ansible_lint"\n'
    assert ansible_use(module(tmp_path, "test_words", source)) is None


def test_the_collections_modules_are_followed(tmp_path: Path) -> None:
    # The filter plugin imports ansible.errors through plugin_utils, two imports away; module_utils.units imports none.
    source = "from ansible_collections.frontier.llm.plugins.filter.planner import FilterModule\n"
    assert "filters.py imports ansible.errors" in (ansible_use(module(tmp_path, "test_follow", source)) or "")
    plain = "from ansible_collections.frontier.llm.plugins.module_utils.units import to_mib\n"
    assert ansible_use(module(tmp_path, "test_plain_utils", plain)) is None


def test_the_unit_tests_that_run_ansible_are_marked_and_plain_ones_are_not() -> None:
    assert "conftest.py names the command 'ansible'" in (ansible_use(UNIT / "test_role_input_safety.py") or "")
    assert ansible_use(UNIT / "test_units.py") is None
    assert ansible_use(UNIT / "test_ollama_standin.py") is None


@pytest.mark.parametrize("args, kwargs, command", [
    (["/venv/bin/ansible-playbook", "site.yml"], {}, "ansible-playbook"),
    (["ansible", "localhost", "-m", "ping"], {}, "ansible"),
    ("ansible-doc -l frontier.llm", {"shell": True}, "ansible-doc"),
    ("/venv/bin/ansible-inventory", {}, "ansible-inventory"),
    ([sys.executable, "-m", "ansible.cli.playbook"], {}, "python -m ansible.cli.playbook"),
    (["env", "ANSIBLE_CONFIG=x", "ansible-config", "dump"], {}, "ansible-config"),
    (["anything"], {"executable": "/usr/bin/ansible-galaxy"}, "ansible-galaxy"),
    (["mkswap", "/tmp/swap"], {}, None),
    ([sys.executable, "server.py"], {}, None),
])
def test_the_commands_a_test_starts_are_read(args: object, kwargs: dict, command: object) -> None:
    assert ansible_command(args, kwargs.get("executable"), kwargs.get("shell", False)) == command
