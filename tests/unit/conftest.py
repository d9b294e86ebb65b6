"""Make the checkout importable as ``ansible_collections.frontier.llm``.

``.collections/ansible_collections/frontier/llm`` links to the checkout, so the plugins are
imported the way Ansible imports them, under their collection name.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests" / "tools"))


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
