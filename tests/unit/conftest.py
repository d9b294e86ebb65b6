"""Make the checkout importable as ``ansible_collections.frontier.llm``, and mark the tests that run Ansible.

``.collections/ansible_collections/frontier/llm`` links to the checkout, so the plugins are
imported the way Ansible imports them, under their collection name.

The marker ``ansible``: the release check (tests/release-check.sh) runs only these tests under the other
ansible-core versions it claims (``pytest -m ansible``); the rest is plain Python whose result does not depend on
ansible-core. A test module is marked whole when it, or a module it imports (the collection's own code, the other
test modules, tests/tools), imports ansible-core (``ansible`` or ``ansible.*``), or names one of ansible-core's
commands (``adhoc`` below runs ``ansible``). That reading misses a command whose name is built at run time, so
every test is also watched while it runs: one that starts an Ansible command without the marker fails, saying so
(mark it ``@pytest.mark.ansible``). A test that reaches ansible-core's Python only through an import made at run
time (``importlib.import_module`` of a computed name) is not seen: mark it by hand.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests" / "tools"))
HERE = Path(__file__).resolve().parent
TOOLS = ROOT / "tests" / "tools"
COLLECTION = "ansible_collections.frontier.llm"
# ansible-core's commands.
ANSIBLE_COMMANDS = frozenset(("ansible", "ansible-config", "ansible-console", "ansible-doc", "ansible-galaxy",
                              "ansible-inventory", "ansible-playbook", "ansible-pull", "ansible-test", "ansible-vault"))


def _module_files(name: str, imported: Sequence[str], importer: Path) -> List[Path]:
    """The files of the collection, the tests or tests/tools that ``from name import imported`` loads."""
    if name == COLLECTION or name.startswith(COLLECTION + "."):
        base = ROOT.joinpath(*name.split(".")[3:])
    elif (HERE / (name.split(".")[0] + ".py")).exists() or (TOOLS / (name.split(".")[0] + ".py")).exists():
        folder = HERE if (HERE / (name.split(".")[0] + ".py")).exists() else TOOLS
        base = folder.joinpath(*name.split("."))
    else:
        return []
    found = [path for path in (base.with_suffix(".py"), base / "__init__.py") if path.is_file()]
    # from package import module
    found += [base / (item + ".py") for item in imported if (base / (item + ".py")).is_file()]
    return [path for path in found if path.resolve() != importer.resolve()]


def ansible_use(path: Path, seen: Optional[Set[Path]] = None) -> Optional[str]:
    """Why the Python file at ``path`` runs Ansible (what it imports or names, and where), or None.

    Follows its imports into the collection's own modules, the test modules and tests/tools.
    """
    seen = set() if seen is None else seen
    if path.resolve() in seen:
        return None
    seen.add(path.resolve())
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.rsplit("/", 1)[-1] in ANSIBLE_COMMANDS:
            return "%s names the command %r" % (path.name, node.value)
        if isinstance(node, ast.Import):
            modules = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within the collection's plugins
                package = path.parents[node.level - 1]
                if ROOT not in package.parents:
                    continue
                dotted = ".".join(package.relative_to(ROOT).parts)
                name = COLLECTION + "." + dotted + ("." + node.module if node.module else "")
            else:
                name = node.module or ""
            modules = [(name, [alias.name for alias in node.names])]
        else:
            continue
        for name, imported in modules:
            if name == "ansible" or name.startswith("ansible."):
                return "%s imports %s" % (path.name, name)
            for found in _module_files(name, imported, path):
                reason = ansible_use(found, seen)
                if reason:
                    return "%s imports %s; %s" % (path.name, name, reason)
    return None


@lru_cache(maxsize=None)
def _module_runs_ansible(path: str) -> Optional[str]:
    return ansible_use(Path(path))


def ansible_command(args: Any, executable: Any = None, shell: bool = False) -> Optional[str]:
    """The Ansible command a subprocess.Popen(args, executable=..., shell=...) starts, or None."""
    if isinstance(args, (str, bytes, os.PathLike)):
        argv = shlex.split(os.fsdecode(args)) if shell else [os.fsdecode(args)]
    else:
        argv = [os.fsdecode(arg) for arg in args]
    if executable is not None:
        argv = [os.fsdecode(executable)] + argv[1:]
    for index, arg in enumerate(argv):
        if os.path.basename(arg) in ANSIBLE_COMMANDS:
            return os.path.basename(arg)
        # python -m ansible / ansible.cli.playbook / ansible_test
        if arg == "-m" and index + 1 < len(argv) and argv[index + 1].split(".")[0] in ("ansible", "ansible_test"):
            return "python -m " + argv[index + 1]
    return None


_STARTED: List[str] = []  # the Ansible commands started since the current test began its setup
_POPEN_INIT = subprocess.Popen.__init__


def _watched_popen_init(self: subprocess.Popen, args: Any, *rest: Any, **kwargs: Any) -> None:
    command = ansible_command(args, kwargs.get("executable"), bool(kwargs.get("shell")))
    if command:
        _STARTED.append(command)
    _POPEN_INIT(self, args, *rest, **kwargs)


subprocess.Popen.__init__ = _watched_popen_init  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ansible: runs Ansible (its commands or ansible-core's Python); the release "
                                       "check runs these under each claimed ansible-core")


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("ansible") is None and _module_runs_ansible(str(item.path)):
            item.add_marker(pytest.mark.ansible)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:  # pylint: disable=unused-argument
    del _STARTED[:]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After the test's own teardown: one that started an Ansible command (setup and teardown included) is marked."""
    started = sorted(set(_STARTED))
    del _STARTED[:]
    if started and item.get_closest_marker("ansible") is None:
        pytest.fail("%s started %s but is not marked ansible, so the release check would not run it under the other "
                    "ansible-core versions: mark it @pytest.mark.ansible (tests/unit/conftest.py)"
                    % (item.nodeid, ", ".join(started)), pytrace=False)


def flat(output: str) -> str:
    """A play's output as one line of words: a message reads the same under every ansible-core release.

    The default callback's YAML results wrap long messages at 80 columns before ansible-core 2.19,
    and write a quote inside a quoted string twice (``''``); a message must match either way.
    """
    return " ".join(output.replace("''", "'").split())


def install_fake(directory: Path, name: str, source: Path) -> Path:
    """Install a test double as the command ``name`` in ``directory``, run by this Python.

    The doubles stand in for macOS and GPU tools no machine of ours has (pmset, nvidia-smi);
    the module under test runs for real and finds the double first on PATH.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fake = directory / name
    fake.write_text("#!%s\n%s" % (sys.executable, source.read_text()))
    fake.chmod(0o755)
    return directory


def adhoc(module: str, args: Mapping[str, Any], env: Optional[Mapping[str, str]] = None,
          options: Optional[List[str]] = None) -> Dict[str, Any]:
    """Run one module through ``ansible`` on localhost, as the checkout's collection, and return its result."""
    environment = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
                       ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    environment.update(env or {})
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
               "-e", "ansible_python_interpreter=" + sys.executable, "-m", module, "-a", json.dumps(dict(args))]
    proc = subprocess.run(command + list(options or []), cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
