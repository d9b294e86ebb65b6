"""Every module's EXAMPLES: tasks Ansible accepts, with options the module's documented spec accepts.

Each task of a module's EXAMPLES is checked two ways, without running it (the modules act on
hosts: macOS power settings, a GPU server's Ollama store):

- its arguments against the module's documented options, with ansible-core's own
  ``ArgumentSpecValidator`` (names, types, choices, required options, suboptions); sanity's
  validate-modules keeps the documented options equal to the module's real argument spec.
  A templated value (``"{{ ... }}"``) is only known at run time and counts as valid;
- all of them in one play through ``ansible-playbook --syntax-check``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(path for path in (ROOT / "plugins" / "modules").glob("*.py") if path.name != "__init__.py")


def docs(path: Path) -> Dict[str, Any]:
    """The module's DOCUMENTATION and EXAMPLES, read without importing it."""
    found: Dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES"):
                found[node.targets[0].id] = yaml.safe_load(node.value.value)  # type: ignore[attr-defined]
    return found


def spec(options: Dict[str, Any]) -> Dict[str, Any]:
    """An argument spec from documented options."""
    result: Dict[str, Any] = {}
    for name, option in (options or {}).items():
        entry = {key: option[key] for key in ("type", "required", "choices", "elements", "aliases", "default", "no_log")
                 if key in option}
        if "suboptions" in option:
            entry["options"] = spec(option["suboptions"])
        result[name] = entry
    return result


def untemplated(value: Any, option: Dict[str, Any]) -> Tuple[bool, Any]:
    """(keep, value): a templated value is dropped unless the option takes any string."""
    if isinstance(value, str) and "{{" in value:
        return option.get("type", "str") in ("str", "raw", "path"), value
    return True, value


def tasks() -> List[Tuple[str, int, Dict[str, Any]]]:
    """(module, index, task) for every task of every module's EXAMPLES."""
    found = []
    for path in MODULES:
        examples = docs(path)["EXAMPLES"]
        assert isinstance(examples, list) and examples, "%s: EXAMPLES is not a list of tasks" % path.name
        for index, task in enumerate(examples):
            found.append((path.stem, index, task))
    return found


TASKS = tasks()
# The tasks that call the module itself (the others, a debug of its result, are in the syntax check).
CASES = [(module, index, task) for module, index, task in TASKS if "frontier.llm." + module in task]


def test_every_module_has_an_example_calling_it() -> None:
    """Each module is called by at least one task of its own EXAMPLES."""
    for path in MODULES:
        names = {key for task in docs(path)["EXAMPLES"] for key in task}
        assert "frontier.llm." + path.stem in names, path.name


@pytest.mark.parametrize("module, index, task", CASES, ids=["%s-%d" % (case[0], case[1]) for case in CASES])
def test_example_arguments_match_the_documented_options(module: str, index: int, task: Dict[str, Any]) -> None:
    """The example's arguments pass ansible-core's validation against the documented options."""
    name = "frontier.llm." + module
    options = docs(ROOT / "plugins" / "modules" / (module + ".py"))["DOCUMENTATION"].get("options") or {}
    args = {}
    for key, value in (task[name] or {}).items():
        keep, value = untemplated(value, options.get(key, {}))
        if keep:
            args[key] = value
    required = {key for key, option in options.items() if option.get("required")}
    for key in required - set(args):
        assert key in (task[name] or {}), "%s example %d lacks the required option %s" % (module, index, key)
    documented = spec(options)
    for key in required - set(args):  # required but templated: only the run time knows the value
        documented[key]["required"] = False
    result = ArgumentSpecValidator(documented).validate(args)
    assert not result.error_messages, "%s example %d: %s" % (module, index, result.error_messages)


def test_examples_pass_the_syntax_check(tmp_path: Path) -> None:
    """Every example task, in one play, passes ansible-playbook --syntax-check."""
    book = tmp_path / "examples.yml"
    book.write_text(yaml.safe_dump([{"name": "Module examples", "hosts": "localhost", "gather_facts": False,
                                     "tasks": [case[2] for case in TASKS]}], sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                           str(book)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
