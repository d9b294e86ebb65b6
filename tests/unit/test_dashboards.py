"""The Grafana dashboards kept in the stack role: Grafana's schema basics, one datasource uid everywhere.

Their PromQL is checked by promtool (tests/promtool.sh) and run against the live Prometheus in the
stack_engines scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

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
