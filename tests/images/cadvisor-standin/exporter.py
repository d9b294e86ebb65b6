"""cadvisor-standin: a TEST DOUBLE of cAdvisor's Prometheus metrics for frontier.llm's tests. It is NOT cAdvisor.

cAdvisor is in no registry or package these machines reach, and the stack's container alerts need its
series. This exporter serves, on :8080/metrics like cAdvisor, the few cAdvisor series the stack's rules
use, with cAdvisor's names and labels, computed from the real kernel figures of each running container:

- container_memory_usage_bytes, container_memory_working_set_bytes (usage less inactive file pages, as
  cAdvisor computes it), container_spec_memory_limit_bytes (0 for no limit, as cAdvisor reports it),
  container_oom_events_total, container_cpu_usage_seconds_total, container_start_time_seconds;
- labels id (the cgroup path), name, image, and container_label_<docker label> for each Docker label.

Containers come from the Docker API (the socket under /var/run); their cgroups from
/rootfs/proc/<pid>/cgroup and /rootfs/sys/fs/cgroup (the host's root mounted at /rootfs, as for cAdvisor),
cgroup v2 or v1.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterable, List, Optional, Tuple

ROOTFS = os.environ.get("STANDIN_ROOTFS", "/rootfs")
DOCKER_SOCKET = os.environ.get("STANDIN_DOCKER_SOCKET", "/var/run/docker.sock")
PORT = int(os.environ.get("STANDIN_PORT", "8080"))
LABEL_RE = re.compile(r"[^a-zA-Z0-9_]")


class UnixConnection(http.client.HTTPConnection):
    """HTTP over the Docker engine's Unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.socket_path)


def docker_get(path: str) -> Any:
    """GET a Docker API path and decode its JSON."""
    conn = UnixConnection(DOCKER_SOCKET)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError("docker %s: HTTP %d" % (path, response.status))
        return json.loads(body)
    finally:
        conn.close()


def read(path: str) -> Optional[str]:
    """A file's content, or None when it cannot be read."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def keyed(text: Optional[str]) -> Dict[str, int]:
    """Lines of 'key value' (memory.stat, memory.events, cpu.stat) as a dict of integers."""
    values: Dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


def cgroup_paths(proc_cgroup: str) -> Tuple[Optional[str], Dict[str, str]]:
    """From /proc/<pid>/cgroup: the unified (v2) path and the v1 path of each controller."""
    unified: Optional[str] = None
    v1: Dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            unified = parts[2]
        for controller in parts[1].split(","):
            if controller:
                v1[controller] = parts[2]
    return unified, v1


def container_cgroup(path: str, container_id: str) -> str:
    """The container's own cgroup: a systemd container's PID 1 moves itself into <cgroup>/init.scope."""
    index = path.find(container_id)
    if index < 0:
        return path
    end = path.find("/", index)
    return path if end < 0 else path[:end]


def figures(root: str, proc_cgroup: str, container_id: str = "") -> Dict[str, Any]:
    """Memory, limit, OOM kills and CPU time of one container's cgroup, from v1 controllers when mounted, else v2."""
    unified, v1 = cgroup_paths(proc_cgroup)
    if container_id:
        unified = container_cgroup(unified, container_id) if unified is not None else None
        v1 = {controller: container_cgroup(path, container_id) for controller, path in v1.items()}
    memory_dir = os.path.join(root, "memory") + v1.get("memory", "") if "memory" in v1 else None
    if memory_dir and os.path.isdir(memory_dir):
        stat = keyed(read(os.path.join(memory_dir, "memory.stat")))
        usage = int((read(os.path.join(memory_dir, "memory.usage_in_bytes")) or "0").strip() or 0)
        limit = int((read(os.path.join(memory_dir, "memory.limit_in_bytes")) or "0").strip() or 0)
        cpuacct = os.path.join(root, "cpuacct") + v1.get("cpuacct", "")
        if not os.path.isdir(cpuacct):
            cpuacct = os.path.join(root, "cpu,cpuacct") + v1.get("cpuacct", "")
        cpu_ns = int((read(os.path.join(cpuacct, "cpuacct.usage")) or "0").strip() or 0)
        return {"id": v1["memory"], "usage": usage, "inactive_file": stat.get("total_inactive_file", 0),
                # v1 reports "no limit" as a page-rounded huge number; cAdvisor exports 0 then.
                "limit": 0 if limit >= 1 << 62 else limit,
                "oom_kills": keyed(read(os.path.join(memory_dir, "memory.oom_control"))).get("oom_kill", 0),
                "cpu_seconds": cpu_ns / 1e9}
    if unified is None:
        raise OSError("no memory cgroup found")
    directory = root + unified
    stat = keyed(read(os.path.join(directory, "memory.stat")))
    limit_text = (read(os.path.join(directory, "memory.max")) or "max").strip()
    return {"id": unified, "usage": int((read(os.path.join(directory, "memory.current")) or "0").strip() or 0),
            "inactive_file": stat.get("inactive_file", 0), "limit": 0 if limit_text == "max" else int(limit_text),
            "oom_kills": keyed(read(os.path.join(directory, "memory.events"))).get("oom_kill", 0),
            "cpu_seconds": keyed(read(os.path.join(directory, "cpu.stat"))).get("usage_usec", 0) / 1e6}


def started(text: str) -> float:
    """Docker's State.StartedAt (RFC 3339 with nanoseconds) as Unix seconds."""
    trimmed = re.sub(r"(\.\d{6})\d*", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed).timestamp()


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def labels(container: Dict[str, Any], cgroup_id: str) -> str:
    """cAdvisor's labels for a Docker container: id, image, name and container_label_<label>."""
    pairs = [("id", cgroup_id), ("image", container["Config"].get("Image", "")),
             ("name", container["Name"].lstrip("/"))]
    for key, value in sorted((container["Config"].get("Labels") or {}).items()):
        pairs.append(("container_label_" + LABEL_RE.sub("_", key), str(value)))
    return ",".join('%s="%s"' % (key, escape(value)) for key, value in pairs)


METRICS = [
    ("container_memory_usage_bytes", "gauge", "Current memory usage in bytes, including all memory regardless of when it was accessed",
     lambda f: f["usage"]),
    ("container_memory_working_set_bytes", "gauge", "Current working set in bytes.",
     lambda f: max(0, f["usage"] - f["inactive_file"])),
    ("container_spec_memory_limit_bytes", "gauge", "Memory limit for the container.", lambda f: f["limit"]),
    ("container_oom_events_total", "counter", "Count of out of memory events observed for the container",
     lambda f: f["oom_kills"]),
    ("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.", lambda f: f["cpu_seconds"]),
    ("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds.",
     lambda f: f["start"]),
]


def collect(rows: Iterable[Tuple[str, Dict[str, Any]]]) -> str:
    """The exposition text for (labels, figures) rows."""
    rows = list(rows)
    lines: List[str] = ["# frontier.llm cadvisor-standin: a test double of cAdvisor's metrics, not cAdvisor"]
    for name, kind, help_text, value in METRICS:
        lines += ["# HELP %s %s" % (name, help_text), "# TYPE %s %s" % (name, kind)]
        lines += ["%s{%s} %s" % (name, label_text, repr(float(value(fig)))) for label_text, fig in rows]
    return "\n".join(lines) + "\n"


def scrape() -> str:
    """Read every running container's figures now."""
    rows = []
    for summary in docker_get("/containers/json"):
        container = docker_get("/containers/%s/json" % summary["Id"])
        pid = container["State"].get("Pid") or 0
        proc_cgroup = read("%s/proc/%d/cgroup" % (ROOTFS, pid)) if pid else None
        if not proc_cgroup:
            continue
        try:
            fig = figures(ROOTFS + "/sys/fs/cgroup", proc_cgroup, container["Id"])
        except OSError:
            continue
        fig["start"] = started(container["State"]["StartedAt"])
        rows.append((labels(container, fig["id"]), fig))
    return collect(rows)


class Handler(BaseHTTPRequestHandler):
    """GET (and HEAD, which cAdvisor's own healthcheck, wget --spider, sends) /metrics and /healthz."""

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
        self.answer(send_body=False)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.answer(send_body=True)

    def answer(self, send_body: bool) -> None:
        """The status and headers, and the body unless this is a HEAD request."""
        if self.path == "/healthz":
            body, status = b"ok\n", 200
        elif self.path.split("?")[0] == "/metrics":
            try:
                body, status = scrape().encode(), 200
            except (OSError, ValueError, KeyError) as err:
                body, status = ("scrape failed: %s\n" % err).encode(), 500
        else:
            body, status = b"not found\n", 404
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, fmt: str, *args: Any) -> None:
        sys.stderr.write("cadvisor-standin: %s\n" % (fmt % args))


def main() -> None:
    """Serve until stopped."""
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    sys.stderr.write("cadvisor-standin: a test double of cAdvisor's metrics, on :%d\n" % PORT)
    server.serve_forever()


if __name__ == "__main__":
    main()
