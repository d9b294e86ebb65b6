"""Make the checkout importable as ``ansible_collections.frontier.llm``.

``.collections/ansible_collections/frontier/llm`` links to the checkout, so the plugins are
imported the way Ansible imports them, under their collection name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests" / "tools"))


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
