# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the frontier.llm stack role; the logic lives in module_utils/stack.py."""

from __future__ import annotations

from typing import Any, Callable, Dict

from ansible.errors import AnsibleFilterError

from ansible_collections.frontier.llm.plugins.module_utils import sizing, stack


def _wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the stack's ValueErrors into filter errors that name the filter."""

    def filter_function(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except sizing.PlanError as err:
            raise AnsibleFilterError("frontier.llm.%s: %s" % (name, err)) from None

    filter_function.__doc__ = function.__doc__
    filter_function.__name__ = name
    return filter_function


class FilterModule:
    """frontier.llm stack filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        """Map filter names to functions."""
        return {
            "stack_compose": _wrap("stack_compose", stack.compose_project),
            "stack_engine_env": _wrap("stack_engine_env", stack.engine_env),
            "stack_errors": _wrap("stack_errors", stack.settings_errors),
            "stack_model_file_names": _wrap("stack_model_file_names", stack.model_file_names),
        }
