# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Docker ``daemon.json`` would make reachable from other machines.

Plain Python with no Ansible import, behind the filter ``frontier.llm.docker_daemon_exposures``
that the docker_engine role runs before any change.

Rules, as dockerd reads its options (moby ``opts/hosts.go``, ``ParseHost``):

- Each ``hosts`` entry is ``proto://address`` after trimming blanks. ``unix://`` (a socket file)
  and ``fd://`` (the sockets systemd hands over, ``docker.socket``) stay on this machine and are
  the only ones accepted. ``tcp://`` is TCP, and so is an entry without ``://``: dockerd reads
  ``0.0.0.0:2375``, ``:2375`` or ``localhost`` as ``tcp://``. An empty entry is the default
  socket, which is ``tcp://localhost:2376`` when ``tls`` is on, so it is refused too, as is any
  other scheme (dockerd would not start with it).
- ``metrics-addr`` (unauthenticated Prometheus metrics) must be an IP literal on loopback,
  ``127.0.0.0/8`` or ``[::1]``, with a port; a host name is refused, since it may resolve to
  any address. Empty or absent means no metrics listener. ``metrics_beyond_loopback`` lifts the
  rule for a deliberate, firewalled exposure.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, List, Mapping

LOCAL_SCHEMES = ("unix://", "fd://")
_HOST_PORT_RE = re.compile(r"^(?:\[(?P<v6>[^\]]*)\]|(?P<host>[^:\[\]]*)):(?P<port>[0-9]{1,5})$")


def host_is_local(entry: Any) -> bool:
    """Whether one ``hosts`` entry keeps the Docker API on this machine (``unix://`` or ``fd://``)."""
    return isinstance(entry, str) and entry.strip().startswith(LOCAL_SCHEMES)


def address_is_loopback(address: Any) -> bool:
    """Whether a ``host:port`` (``[v6]:port`` for IPv6) listens on loopback only, by IP literal."""
    found = _HOST_PORT_RE.match(address.strip()) if isinstance(address, str) else None
    if found is None or not 0 < int(found.group("port")) < 65536:
        return False
    host = found.group("v6") if found.group("v6") is not None else found.group("host")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name, or empty (every interface)
    return ip.is_loopback


def daemon_exposures(daemon: Mapping[str, Any], metrics_beyond_loopback: bool = False) -> List[str]:
    """Every listener of ``daemon`` (the content of daemon.json) that other machines could reach.

    Returns one message per problem, naming the option and the value; an empty list means the
    API stays on unix sockets and the metrics on loopback. Raises ``TypeError`` when ``daemon``
    is not a mapping.
    """
    if not isinstance(daemon, Mapping):
        raise TypeError("daemon.json must be a dict, not %s" % type(daemon).__name__)
    problems = []
    hosts = daemon.get("hosts", [])
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, list):
        problems.append("hosts must be a list of unix:// or fd:// addresses, not %r" % (hosts,))
        hosts = []
    for entry in hosts:
        if not host_is_local(entry):
            problems.append("hosts entry %r listens on TCP (dockerd reads every entry that is not unix:// or fd:// "
                            "as tcp://): the Docker API is root on this host" % (entry,))
    metrics = daemon.get("metrics-addr", "")
    if metrics not in ("", None) and not metrics_beyond_loopback and not address_is_loopback(metrics):
        problems.append("metrics-addr %r is not on loopback (an IP of 127.0.0.0/8 or [::1] with a port)" % (metrics,))
    return problems
