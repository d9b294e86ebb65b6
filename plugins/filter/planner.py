# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the frontier.llm resource planner; the logic lives in module_utils."""

from __future__ import annotations

from typing import Any, Callable, Dict

from ansible_collections.frontier.llm.plugins.module_utils import placement, planner, report, sizing, units
from ansible_collections.frontier.llm.plugins.plugin_utils.filters import as_filter

ERRORS = (sizing.PlanError, units.SizeError)


class FilterModule:
    """frontier.llm planner filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        """Map filter names to functions."""
        functions = {
            "model_memory": sizing.model_memory,
            "resource_plan": planner.resource_plan,
            "plan_fleet": planner.plan_fleet,
            "to_bytes": units.to_bytes,
            "human_bytes": units.human_bytes,
            "plan_markdown": report.host_markdown,
            "fleet_markdown": report.fleet_markdown,
            "place_models": placement.place_models,
        }
        return {name: as_filter(name, function, ERRORS) for name, function in functions.items()}
