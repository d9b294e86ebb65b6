# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the frontier.llm stack and sandbox roles; the logic lives in module_utils/stack.py and sandbox.py."""

from __future__ import annotations

from typing import Any, Callable, Dict

from ansible_collections.frontier.llm.plugins.module_utils import gateway, monitoring, sandbox, sizing, stack
from ansible_collections.frontier.llm.plugins.plugin_utils.filters import as_filter


class FilterModule:
    """frontier.llm stack filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        """Map filter names to functions."""
        functions = {
            "stack_compose": stack.compose_project,
            "stack_engine_env": stack.engine_env,
            "stack_gateway_policy": gateway.policy_module,
            "stack_mistralrs_config": stack.mistralrs_config,
            "stack_alertmanager_config": monitoring.alertmanager_config,
            "stack_errors": stack.settings_errors,
            "stack_docker_version_errors": stack.docker_version_errors,
            "stack_model_file_names": stack.model_file_names,
            "stack_prometheus_config": stack.prometheus_config,
            "stack_mountpoint": stack.mountpoint,
            "sandbox_errors": sandbox.settings_errors,
        }
        return {name: as_filter(name, function, (sizing.PlanError,)) for name, function in functions.items()}
