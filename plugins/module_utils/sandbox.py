# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandbox role's settings, checked before it creates anything on the controller.

Plain Python with no Ansible import. Every value here reaches a root command (debootstrap, the
Docker API), a path or a listener on the controller, so each is checked against what is safe,
not just its type.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping

from ansible_collections.frontier.llm.plugins.module_utils.stack import check_image, check_path, error_collector, is_ip

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MIRROR_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")


def settings_errors(settings: Mapping[str, Any]) -> List[str]:
    """Every problem with the sandbox role's variables, each naming the variable and the value.

    :param settings: ``sandbox_hosts`` (the inventory names of the sandbox hosts, which become
        container names), ``sandbox_image``, ``sandbox_debian_mirror``, ``sandbox_cache_dir``
        (expanded), ``sandbox_https_bind`` and ``sandbox_https_port``.
    """
    errors: List[str] = []
    guard = error_collector(errors)
    hosts = settings.get("sandbox_hosts")
    if not isinstance(hosts, list):
        errors.append("the group frontier_sandbox: expected a list of host names, got %r" % (hosts,))
        hosts = []
    for host in hosts:
        if not isinstance(host, str) or not NAME_RE.match(host):
            errors.append("the group frontier_sandbox: the host %r must be named with lower-case letters, digits and '-' "
                          "(it becomes a container name)" % (host,))
    guard(lambda: check_image(settings.get("sandbox_image"), "sandbox_image"))
    mirror = settings.get("sandbox_debian_mirror")
    if not isinstance(mirror, str) or not MIRROR_RE.match(mirror):
        errors.append("sandbox_debian_mirror: %r is not an http(s) URL such as http://deb.debian.org/debian" % (mirror,))
    guard(lambda: check_path(settings.get("sandbox_cache_dir"), "sandbox_cache_dir"))
    bind = settings.get("sandbox_https_bind")
    if not is_ip(bind):
        errors.append("sandbox_https_bind: %r is not an IP address such as 127.0.0.1" % (bind,))
    port = settings.get("sandbox_https_port")
    if isinstance(port, str) and port.isdigit():
        port = int(port)  # -e sandbox_https_port=8450 gives a string
    last = 65535 - max(len(hosts) - 1, 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= last:
        errors.append("sandbox_https_port: %r must be a port from 1024 to %d (one per sandbox host)" % (port, last))
    return errors
