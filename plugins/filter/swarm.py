# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the frontier.llm swarm role; the logic lives in module_utils/swarm.py."""

from __future__ import annotations

from typing import Any, Callable, Dict

from ansible_collections.frontier.llm.plugins.module_utils import sizing, swarm, units
from ansible_collections.frontier.llm.plugins.plugin_utils.filters import as_filter


class FilterModule:
    """frontier.llm swarm filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        """Map filter names to functions."""
        functions = {
            "swarm_services": swarm.swarm_services,
            "swarm_stack_file": swarm.stack_file,
            "swarm_errors": swarm.settings_errors,
        }
        return {name: as_filter(name, function, (sizing.PlanError, units.SizeError))
                for name, function in functions.items()}
