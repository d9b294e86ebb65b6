"""The PromQL of the stack's Grafana dashboards as Prometheus runs it: Grafana's variables substituted.

Grafana replaces ``$name`` / ``${name}`` in a panel's query before sending it; Prometheus (promtool, the live
checks of the stack_engines scenario) sees the result. Each dashboard variable is replaced by its ``allValue``
(every node, as the dashboard opens), Grafana's own ``$__rate_interval`` by 5m. Used by tests/promtool.sh,
tests/unit/test_dashboards.py and molecule/stack_engines/tests/test_monitoring.py; with a path, prints the
expressions as a promtool rule file (JSON).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS_DIR = ROOT / "roles/stack/files/grafana/dashboards"
_VARIABLE_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
BUILTINS = {"__rate_interval": "5m", "__interval": "1m"}


def dashboards() -> List[Path]:
    """The dashboard files, sorted."""
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def substitute(expr: str, board: Mapping[str, Any]) -> str:
    """``expr`` with the dashboard's variables replaced by their allValue; an unknown variable is refused."""
    values = dict(BUILTINS)
    for variable in board.get("templating", {}).get("list", []):
        values[variable["name"]] = variable.get("allValue") or ".*"

    def replace(match: "re.Match[str]") -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise ValueError("%s: $%s is not a variable of the dashboard" % (board.get("title"), name))
        return values[name]

    return _VARIABLE_RE.sub(replace, expr)


def expressions(paths: Optional[List[Path]] = None) -> List[Tuple[str, str, str]]:
    """(dashboard title, panel title, expression as Prometheus runs it) of every panel target."""
    found = []
    for path in paths or dashboards():
        board: Dict[str, Any] = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                found.append((board["title"], panel["title"], substitute(target["expr"], board)))
    return found


def main(argv: List[str]) -> int:
    """Write every expression as a recording rule of a promtool rule file (argv[1])."""
    rules = [{"record": "dashboard:panel_%d:check" % index, "expr": expr}
             for index, (_board, _panel, expr) in enumerate(expressions())]
    Path(argv[1]).write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}))
    print("promtool: %d dashboard expressions" % len(rules))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
