# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the collection's filter plugins: plain functions exposed as Ansible filters."""

from __future__ import annotations

from typing import Any, Callable, Tuple, Type

from ansible.errors import AnsibleFilterError


def as_filter(name: str, function: Callable[..., Any], errors: Tuple[Type[Exception], ...]) -> Callable[..., Any]:
    """Wrap ``function`` so that its input errors become filter errors naming ``frontier.llm.<name>``."""

    def filter_function(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except errors as err:
            raise AnsibleFilterError("frontier.llm.%s: %s" % (name, err)) from None

    filter_function.__doc__ = function.__doc__
    filter_function.__name__ = name
    return filter_function
