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
