# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the frontier.llm docker_engine role; the logic lives in module_utils/docker_daemon.py."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.frontier.llm.plugins.module_utils import docker_daemon


def docker_daemon_exposures(daemon: Mapping[str, Any], metrics_beyond_loopback: bool = False) -> List[str]:
    """Every listener of a daemon.json that other machines could reach, one message each."""
    try:
        return docker_daemon.daemon_exposures(daemon, metrics_beyond_loopback=boolean(metrics_beyond_loopback, strict=True))
    except TypeError as err:
        raise AnsibleFilterError("frontier.llm.docker_daemon_exposures: %s" % err) from None


class FilterModule:
    """frontier.llm docker_engine filters."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        """Map filter names to functions."""
        return {"docker_daemon_exposures": docker_daemon_exposures}
