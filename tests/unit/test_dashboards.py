"""The Grafana dashboards kept in the stack role: Grafana's schema basics, one datasource uid everywhere.

Their PromQL is checked by promtool (tests/promtool.sh) and run against the live Prometheus in the
stack_engines scenario, each with its variables as Grafana substitutes them (tests/tools/dashboard_exprs.py). The
node-level panels follow the node variable (one node on a single host, several on Swarm).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

import dashboard_exprs

DASHBOARDS = sorted((Path(__file__).resolve().parents[2] / "roles/stack/files/grafana/dashboards").glob("*.json"))
DATASOURCE_UID = "frontier-prometheus"


def load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text())


def test_the_seeds_three_dashboards_and_the_engines_are_there() -> None:
    titles = sorted(load(path)["title"] for path in DASHBOARDS)
    assert titles == ["Container Metrics", "Engine (llama.cpp)", "Model Performance", "System Overview"]
    uids = [load(path)["uid"] for path in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_schema_basics(path: Path) -> None:
    board = load(path)
    assert board["uid"] and len(board["uid"]) <= 40 and board["title"]
    assert isinstance(board["schemaVersion"], int)
    panels: List[Dict[str, Any]] = board["panels"]
    assert panels
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["type"] and panel["title"], panel
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            assert target["expr"].strip() and target["refId"], panel["title"]


# A node-level series: node-exporter's (one target per node on Swarm, one on a single host).
NODE_SELECTOR = re.compile(r"\b(node_[A-Za-z0-9_]+)(\{[^}]*\})?")
NODE_FILTER = 'instance=~"$node"'


def node_selectors(expr: str) -> List[str]:
    """Each node-exporter series an expression selects, with its matchers (``node_x{...}``)."""
    return [name + (matchers or "") for name, matchers in NODE_SELECTOR.findall(expr)]


def test_node_panels_follow_the_node_variable() -> None:
    """Every selector of a node-exporter series filters on $node: on Swarm a panel that ignores it mixes every
    node's figures (or averages them) whatever the user picked."""
    seen = 0
    for path in DASHBOARDS:
        board = load(path)
        for panel in board["panels"]:
            for target in panel["targets"]:
                for selector in node_selectors(target["expr"]):
                    seen += 1
                    assert NODE_FILTER in selector, "%s / %s: %s ignores $node" % (board["title"], panel["title"], selector)
                if node_selectors(target["expr"]):
                    assert "{{instance}}" in target.get("legendFormat", ""), panel["title"]
    assert seen >= 5


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_a_dashboard_with_node_panels_has_the_node_variable(path: Path) -> None:
    board = load(path)
    uses = [target["expr"] for panel in board["panels"] for target in panel["targets"] if "$node" in target["expr"]]
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    if not uses:
        assert "node" not in variables
        return
    node = variables["node"]
    # Every node-exporter target, several at once, All by default: on a single host its one target.
    assert node["type"] == "query" and node["datasource"]["uid"] == DATASOURCE_UID
    assert node["query"]["query"] == node["definition"] == "label_values(node_uname_info, instance)"
    assert node["multi"] is True and node["includeAll"] is True and node["allValue"] == ".*"
    assert node["current"]["value"] == ["$__all"]


def test_the_checks_run_each_expression_with_every_node() -> None:
    """promtool and the live checks run the expressions with $node as Grafana opens the dashboard (every node)."""
    found = dashboard_exprs.expressions(DASHBOARDS)
    assert not [expr for _board, _panel, expr in found if "$" in expr]
    memory = [expr for board, panel, expr in found if panel == "Memory available"]
    assert memory == ['node_memory_MemAvailable_bytes{instance=~".*"}', 'node_memory_MemTotal_bytes{instance=~".*"}']
    with pytest.raises(ValueError, match=r"\$host is not a variable"):
        dashboard_exprs.substitute('up{instance=~"$host"}', {"title": "x", "templating": {"list": []}})
