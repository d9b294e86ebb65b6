# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the frontier.llm resource planner; the logic lives in module_utils."""

from __future__ import annotations

from typing import Any, Callable, Dict

from ansible.errors import AnsibleFilterError

from ansible_collections.frontier.llm.plugins.module_utils import planner, report, sizing, units


def _wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the planner's ValueErrors into filter errors that name the filter."""

    def filter_function(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (sizing.PlanError, units.SizeError) as err:
            raise AnsibleFilterError("frontier.llm.%s: %s" % (name, err)) from None

    filter_function.__doc__ = function.__doc__
    filter_function.__name__ = name
    return filter_function


class FilterModule:
    """frontier.llm planner filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        """Map filter names to functions."""
        return {
            "model_memory": _wrap("model_memory", sizing.model_memory),
            "resource_plan": _wrap("resource_plan", planner.resource_plan),
            "to_bytes": _wrap("to_bytes", units.to_bytes),
            "human_bytes": _wrap("human_bytes", units.human_bytes),
            "plan_markdown": _wrap("plan_markdown", report.host_markdown),
            "fleet_markdown": _wrap("fleet_markdown", report.fleet_markdown),
        }
