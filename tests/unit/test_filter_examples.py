"""Every filter's documented EXAMPLES run through real Ansible templating.

Each ``plugins/filter/*.yml`` holds an ``EXAMPLES`` block of ``name: "{{ expression }}"`` lines, as a
user would write them in ``vars`` or ``set_fact``. One playbook on localhost sets each example in
turn with ``ansible.builtin.set_fact`` (so a later example may use an earlier one, as the docs show),
against the variables the examples assume (a host's facts, a plan made by the planner, the stack
role's own variables). An example that fails to template fails its test. An example whose line ends
in ``# => VALUE`` states its result: VALUE is read as YAML and must equal what Ansible returned.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Tuple

import pytest
import yaml
from ansible.release import __version__ as ANSIBLE_CORE_VERSION


ROOT = Path(__file__).resolve().parents[2]
FILTER_DIR = ROOT / "plugins" / "filter"
RESULT = re.compile(r"#\s*=>\s*(?P<value>.*?)\s*$")

# What the examples assume exists: the facts of a 64 GiB Linux host as ansible_facts and
# frontier.llm.host_facts give them, a daemon.json, and the plan the planner role sets for it.
FACTS: Dict[str, Any] = {
    "memtotal_mb": 65536, "processor_vcpus": 16, "processor_cores": 8, "processor_count": 1, "system": "Linux",
    "mounts": [{"mount": "/", "size_total": 500 * 2 ** 30}, {"mount": "/var/lib", "size_total": 2 * 2 ** 40}],
    "frontier_llm": {"physical_cores": 8, "numa_nodes": [], "gpus": [], "cgroup_memory_limit_mb": None},
}
DAEMON: Dict[str, Any] = {"hosts": ["fd://", "tcp://0.0.0.0:2375"], "metrics-addr": "127.0.0.1:9323"}
SMOLLM2: Dict[str, Any] = {"name": "smollm2", "n_layer": 30, "n_head": 9, "n_head_kv": 3, "head_dim": 64,
                           "embedding_length": 576, "vocab_size": 49152, "context_length": 8192,
                           "file_bytes": 96550000}
# Before 2.19, ansible-core renders a template that yields a lone number as its text (no Jinja2
# native types by default); lists and dicts come back as such in every version.
NUMBERS_AS_TEXT = tuple(int(part) for part in ANSIBLE_CORE_VERSION.split(".")[:2]) < (2, 19)
PLAN = "{{ ansible_facts | frontier.llm.resource_plan(models=[smollm2], engine='llamacpp') }}"


class Example(NamedTuple):
    """One ``name: expression`` entry of a filter's EXAMPLES, and the result its comment states."""

    doc: str
    name: str
    expression: str
    line: int
    expected: Tuple[bool, Any]


def examples_of(path: Path) -> Iterator[Example]:
    """The entries of a filter doc's EXAMPLES in order (a name may repeat), each with its stated result."""
    text = yaml.safe_load(path.read_text())["EXAMPLES"]
    lines = text.splitlines()
    node = yaml.compose(text)
    assert isinstance(node, yaml.MappingNode), "%s: EXAMPLES is not a mapping of name: expression" % path.name
    for key, value in node.value:
        assert isinstance(value, yaml.ScalarNode), "%s: %s is not a single expression" % (path.name, key.value)
        end_line = lines[value.end_mark.line] if value.end_mark.column else lines[value.end_mark.line - 1]
        match = RESULT.search(end_line)
        following = lines[value.end_mark.line + 1] if value.end_mark.line + 1 < len(lines) else ""
        if not match and following.lstrip().startswith("#"):
            match = RESULT.search(following)
        expected = (True, yaml.safe_load(match.group("value"))) if match else (False, None)
        yield Example(path.name, key.value, value.value, key.start_mark.line + 1, expected)


DOCS = sorted(FILTER_DIR.glob("*.yml"))
EXAMPLES: List[Example] = [example for doc in DOCS for example in examples_of(doc)]


def playbook() -> List[Dict[str, Any]]:
    """A play that sets the context, then each example, carrying on past failures."""
    tasks: List[Dict[str, Any]] = [
        {"name": "context planner_plan", "ansible.builtin.set_fact": {"planner_plan": PLAN}},
    ]
    for index, example in enumerate(EXAMPLES):
        tasks.append({"name": "example %d" % index, "ansible.builtin.set_fact": {example.name: example.expression},
                      "ignore_errors": True})
    return [{
        "name": "Filter examples", "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(ROOT / "roles/stack/defaults/main.yml"), str(ROOT / "roles/stack/vars/main.yml")],
        "vars": {"ansible_facts": FACTS, "docker_engine_daemon": DAEMON, "smollm2": SMOLLM2},
        "tasks": tasks,
    }]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    """Run the examples' playbook once; each task's result for localhost by task name."""
    work = tmp_path_factory.mktemp("filter-examples")
    book = work / "examples.yml"
    book.write_text(yaml.safe_dump(playbook(), sort_keys=False))
    environment = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
                       ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_CACHE_PLUGIN="memory")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable, str(book)]
    proc = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.stdout, proc.stderr
    report = json.loads(proc.stdout)
    tasks = report["plays"][0]["tasks"]
    found = {task["task"]["name"]: task["hosts"]["localhost"] for task in tasks}
    assert not found["context planner_plan"].get("failed"), found["context planner_plan"]
    return found


def test_every_filter_is_documented_with_examples() -> None:
    """Each filter the collection ships has a doc file with at least one example."""
    names = set()
    # Every filter plugin file, so a new one cannot be left out of this check.
    for source in sorted(FILTER_DIR.glob("*.py")):
        module = importlib.import_module("ansible_collections.frontier.llm.plugins.filter.%s" % source.stem)
        names.update(module.FilterModule().filters())
    documented = {path.stem for path in DOCS}
    assert names == documented
    assert {example.doc[:-4] for example in EXAMPLES} == documented


def test_some_examples_state_their_result() -> None:
    """The ``# => VALUE`` comments are read (a regression in the parser would silently check nothing)."""
    assert sum(1 for example in EXAMPLES if example.expected[0]) >= 8


@pytest.mark.parametrize("index", range(len(EXAMPLES)),
                         ids=["%s:%d:%s" % (e.doc, e.line, e.name) for e in EXAMPLES])
def test_example_runs(index: int, results: Dict[str, Dict[str, Any]]) -> None:
    """The example templates without error and, where its comment states the result, gives it."""
    example = EXAMPLES[index]
    result = results["example %d" % index]
    where = "%s line %d (%s)" % (example.doc, example.line, example.name)
    assert not result.get("failed"), "%s: %s" % (where, result.get("msg"))
    value = result["ansible_facts"][example.name]
    stated, expected = example.expected
    if stated and NUMBERS_AS_TEXT and isinstance(value, str) and isinstance(expected, (int, float)):
        expected = str(expected)
    if stated:
        assert value == expected, "%s: got %r, the docs say %r" % (where, value, expected)
