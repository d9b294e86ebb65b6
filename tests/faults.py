"""The fault suite: faults injected into a running sandbox stack, what must hold, and the figures.

Run by tests/site-sandbox.sh on the sandbox host that `make site` provisioned (the genuine llama-server
behind Nginx, Prometheus and mtail, the sandbox's own Docker engine), after its idempotence check. Every
request goes through Nginx with TLS verified against the stack's certificate; every request loop is
bounded in count and time and targets only the sandbox on this machine's loopback.

    python3 tests/faults.py [--host frontier-sandbox] [--url https://127.0.0.1:8443] [--ca plans/certs/frontier-sandbox.pem]

Faults (one table row each):
  1. the engine's process killed (SIGKILL from the host, as a crash: `docker kill` would count as a manual
     stop and switch the restart policy off) during 8 open streams: every client gets an error or a whole
     answer before a timeout, the engine comes back by itself, and the next completion succeeds;
  2. Nginx reloaded (what a key rotation does) during 32 open streams, 16 on each of the sandbox's two keys
     (its user key and the operator key; the gateway allows 16 connections per key): no stream is cut;
  3. `systemctl restart docker` on the host: the stack comes back without Ansible, with the same key, the
     same certificate and Prometheus's data from before the restart;
  4. load: 400 short completions at concurrency 8 on every key of the stack's store, in turn (site-sandbox.sh
     adds two user keys first, so four): no 5xx, 429 only as the rate limit allows, the engine's memory never
     above its limit;
  5. the models filesystem full during a model download (tests/faults/download.yml runs the stack role's own
     download task file on the sandbox into a tmpfs of a third of the model's size): the run fails naming the
     directory and its space, and leaves 0 bytes; a download killed half-way leaves nothing under the model's
     name, and the next run with space removes the leftover and completes (checksum verified), then changes
     nothing;
  6. a user request setting fields the plan does not allow (llama-server's n, n_cmpl, id_slot, lora, n_probs,
     top_logprobs): each refused at the gateway, the engine's resident memory unchanged.
Not here: a host reboot (the linux_vm scenario reboots a real kernel, checks that the settings come back and
prints the seconds), and Ollama's num_ctx beyond the plan (no registry here has Ollama: the gateway stage and
the stack scenario refuse it in front of a named stand-in, where memory would prove nothing).

Exits non-zero when something that must hold did not.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

MODEL = "smollm2-135m-instruct"
STREAM_TIMEOUT = 120.0


class Stack:
    """The sandbox's stack as a client and an operator reach it."""

    def __init__(self, host: str, url: str, ca: str) -> None:
        self.host = host
        hostport = url.split("://", 1)[1].rstrip("/")
        self.address, _sep, port = hostport.partition(":")
        self.port = int(port or 443)
        self.context = ssl.create_default_context(cafile=ca)
        store = json.loads(self.sh("cat", "/opt/frontier-llm/secrets/api_keys.json"))
        self.keys = {name: entry["key"] for name, entry in store.items()}

    def sh(self, *argv: str) -> str:
        """Run a command on the sandbox host (docker exec); its output."""
        return subprocess.run(["docker", "exec", self.host, *argv], check=True, capture_output=True, text=True,
                              timeout=300).stdout

    def engine(self) -> str:
        """The engine container's id on the sandbox's Docker engine."""
        return self.sh("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=frontier-llm",
                       "--filter", "label=com.docker.compose.service=llamacpp").strip()

    def connection(self, timeout: float = 30.0) -> http.client.HTTPSConnection:
        """A new TLS connection to Nginx."""
        return http.client.HTTPSConnection(self.address, self.port, context=self.context, timeout=timeout)

    def complete(self, key: str, max_tokens: int = 4, timeout: float = 30.0) -> Tuple[int, Dict[str, Any]]:
        """One chat completion: (status, body)."""
        conn = self.connection(timeout)
        try:
            body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}],
                               "max_tokens": max_tokens, "temperature": 0})
            conn.request("POST", "/v1/chat/completions", body=body,
                         headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = {}
            return response.status, parsed
        finally:
            conn.close()

    def first_good_completion(self, key: str, since: float, limit: float = 300.0) -> Optional[float]:
        """Seconds from ``since`` to the first completion answered 200, polled every half second; None at ``limit``."""
        while time.monotonic() - since < limit:
            try:
                if self.complete(key, timeout=10)[0] == 200:
                    return time.monotonic() - since
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.5)
        return None

    def prometheus(self, query: str, at: Optional[float] = None) -> List[Dict[str, Any]]:
        """An instant query through Nginx with the operator key."""
        conn = self.connection(10)
        try:
            path = "/prometheus/api/v1/query?query=" + query + ("&time=%.3f" % at if at else "")
            conn.request("GET", path, headers={"Authorization": "Bearer " + self.keys["frontier-ops"]})
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
            return list((data.get("data") or {}).get("result") or [])
        finally:
            conn.close()

    def certificate(self) -> str:
        """The SHA-256 of the certificate Nginx presents."""
        conn = self.connection(10)
        try:
            conn.connect()
            return hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest()
        finally:
            conn.close()


class Stream(threading.Thread):
    """One streamed completion read to its end: outcome complete, error (with why) or hang."""

    def __init__(self, stack: Stack, key: str, max_tokens: int) -> None:
        super().__init__(daemon=True)
        self.stack, self.key, self.max_tokens = stack, key, max_tokens
        self.started = threading.Event()   # response headers received
        self.chunks = 0
        self.outcome = "running"
        self.why = ""

    def run(self) -> None:
        conn = self.stack.connection(STREAM_TIMEOUT)
        try:
            body = json.dumps({"model": MODEL, "stream": True, "max_tokens": self.max_tokens, "temperature": 0.7,
                               "messages": [{"role": "user", "content": "Tell a long story about a lighthouse."}]})
            conn.request("POST", "/v1/chat/completions", body=body,
                         headers={"Authorization": "Bearer " + self.key, "Content-Type": "application/json"})
            response = conn.getresponse()
            self.started.set()
            if response.status != 200:
                self.outcome, self.why = "error", "HTTP %d" % response.status
                return
            while True:
                line = response.readline()
                if not line:
                    self.outcome, self.why = "error", "closed before [DONE] after %d chunks" % self.chunks
                    return
                if line.startswith(b"data: [DONE]"):
                    self.outcome = "complete"
                    return
                if line.startswith(b"data: "):
                    self.chunks += 1
                    if b'"error"' in line:
                        self.outcome, self.why = "error", "error event"
                        return
        except TimeoutError:
            self.outcome, self.why = "hang", "no byte for %d s" % STREAM_TIMEOUT
        except (OSError, http.client.HTTPException) as error:
            self.outcome, self.why = "error", type(error).__name__
        finally:
            self.started.set()
            conn.close()


def open_streams(stack: Stack, keys: List[str], count: int, max_tokens: int) -> List[Stream]:
    """``count`` streams spread over ``keys``, started a little apart (within the gateway's burst)."""
    streams = [Stream(stack, keys[index % len(keys)], max_tokens) for index in range(count)]
    for stream in streams:
        stream.start()
        time.sleep(0.05)
    return streams


def wait_until(condition: Callable[[], bool], limit: float) -> bool:
    """Poll ``condition`` every 0.2 s for up to ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def engine_kill(stack: Stack) -> Tuple[bool, str, str]:
    """Row 1: SIGKILL the engine's process during 8 open streams."""
    streams = open_streams(stack, [stack.keys["default"]], 8, 400)
    wait_until(lambda: sum(stream.chunks > 0 for stream in streams) >= 2, 60)
    before = stack.engine()
    killed_at = time.monotonic()
    stack.sh("pkill", "-KILL", "-x", "llama-server")
    for stream in streams:
        stream.join(STREAM_TIMEOUT + 10)
    outcomes = [stream.outcome for stream in streams]
    recovery = stack.first_good_completion(stack.keys["default"], killed_at)
    restarted = stack.engine() == before and int(stack.sh("docker", "inspect", "-f", "{{.RestartCount}}", before)) > 0
    hung = outcomes.count("hang") + outcomes.count("running")
    held = hung == 0 and recovery is not None and restarted
    failed = len(outcomes) - outcomes.count("complete")
    what = ("no stream hung; the engine restarted by its policy; the next completion succeeded" if held
            else "hung %d, restarted %s, recovery %s" % (hung, restarted, recovery))
    whys = ", ".join(sorted(set(stream.why for stream in streams if stream.why))) or "-"
    seconds = "%.1f" % recovery if recovery is not None else "-"
    return held, what, "recovery %s s; streams failed %d/%d (%s)" % (seconds, failed, len(outcomes), whys)


def nginx_reload(stack: Stack) -> Tuple[bool, str, str]:
    """Row 2: reload Nginx during 32 open streams, 16 on each key."""
    streams = open_streams(stack, [stack.keys["default"], stack.keys["frontier-ops"]], 32, 48)
    wait_until(lambda: sum(stream.chunks > 0 for stream in streams) >= 2, 60)
    open_now = sum(stream.outcome == "running" for stream in streams)
    nginx = stack.sh("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=frontier-llm",
                     "--filter", "label=com.docker.compose.service=nginx").strip()
    stack.sh("docker", "exec", nginx, "nginx", "-s", "reload", "-c", "/etc/nginx/frontier/nginx.conf")
    for stream in streams:
        stream.join(STREAM_TIMEOUT + 10)
    cut = [stream for stream in streams if stream.outcome != "complete"]
    held = not cut
    return held, ("0 streams cut" if held else "%d cut: %s" % (len(cut), sorted(set(s.why for s in cut)))), \
        "streams failed %d/32 (%d open at the reload)" % (len(cut), open_now)


def docker_restart(stack: Stack) -> Tuple[bool, str, str]:
    """Row 3: restart the host's Docker engine; the stack must come back by itself, keys, certificate and data kept."""
    certificate = stack.certificate()
    wait_until(lambda: bool(stack.prometheus("up")), 60)
    mark = time.time() - 1
    had_data = bool(stack.prometheus("up", at=mark))
    started = time.monotonic()
    stack.sh("systemctl", "restart", "docker")
    recovery = stack.first_good_completion(stack.keys["default"], started)
    kept_certificate = recovery is not None and stack.certificate() == certificate
    kept_data = wait_until(lambda: bool(stack.prometheus("up", at=mark)), 60) and had_data
    held = recovery is not None and kept_certificate and kept_data
    return held, ("back without Ansible; the same key and certificate; Prometheus's samples from before" if held else
                  "recovery %s, certificate kept %s, Prometheus data kept %s (had %s)"
                  % (recovery, kept_certificate, kept_data, had_data)), \
        "first good completion after %s s" % ("%.1f" % recovery if recovery is not None else "-")


def load(stack: Stack, requests: int = 400, concurrency: int = 8) -> Tuple[bool, str, str]:
    """Row 4: ``requests`` short completions at ``concurrency`` on every key in turn; latency, tokens/s, peak memory / limit."""
    engine = stack.engine()
    limit = int(stack.sh("docker", "inspect", "-f", "{{.HostConfig.Memory}}", engine))
    # The engine's cgroup records its own peak: reset it (cgroup v1) so that it is the load's.
    peak_file = find_peak_file(stack, engine_full_id(stack, engine))
    if peak_file and peak_file.endswith("max_usage_in_bytes"):
        stack.sh("sh", "-c", "echo 0 > " + peak_file)
    statuses: List[int] = []
    latencies: List[float] = []
    tokens = 0
    lock = threading.Lock()
    keys = [stack.keys[name] for name in sorted(stack.keys)]
    queue = list(range(requests))

    def worker() -> None:
        nonlocal tokens
        while True:
            with lock:
                if not queue:
                    return
                index = queue.pop()
            began = time.monotonic()
            try:
                status, body = stack.complete(keys[index % len(keys)], max_tokens=16, timeout=60)
            except (OSError, http.client.HTTPException):
                status, body = 0, {}
            with lock:
                statuses.append(status)
                if status == 200:
                    latencies.append(time.monotonic() - began)
                    tokens += int((body.get("usage") or {}).get("completion_tokens") or 0)

    began = time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True) for _worker in range(concurrency)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(900)
    seconds = time.monotonic() - began
    peak = read_peak(stack, peak_file)
    errors = [status for status in statuses if status >= 500 or status == 0]
    limited = statuses.count(429)
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else 0.0
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0
    held = not errors and len(statuses) == requests and (peak is None or peak <= limit) and \
        set(statuses) <= {200, 429}
    figures = (len(errors), sorted(set(errors)), sorted(set(statuses)), peak, limit)
    what = ("no 5xx; 429 from the rate limit only; memory within its limit" if held
            else "%d errors %s, statuses %s, peak %s of limit %d" % figures)
    return held, what, \
        "%d requests in %.0f s: 200 x%d, 429 x%d; p50 %.2f s, p95 %.2f s; %.1f tokens/s; peak memory %s" % (
            len(statuses), seconds, statuses.count(200), limited, p50, p95, tokens / seconds if seconds else 0.0,
            ("%.0f%% of the limit (%d of %d MiB)" % (100.0 * peak / limit, peak >> 20, limit >> 20)) if peak else "not readable")


# A file server for the download row, run on the sandbox with its python3: /fast/NAME sends a file of DIRECTORY at
# once, /slow/NAME 64 KiB every 50 ms (about 1.3 MB/s), so that a download can be killed half-way.
FILE_SERVER = """
import http.server, os, sys, time
root = sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        speed, _sep, name = self.path.lstrip("/").partition("/")
        path = os.path.join(root, os.path.basename(name))
        if speed not in ("fast", "slow") or not os.path.isfile(path):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.end_headers()
        with open(path, "rb") as source:
            while True:
                chunk = source.read(65536)
                if not chunk:
                    return
                self.wfile.write(chunk)
                if speed == "slow":
                    time.sleep(0.05)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
DOWNLOAD_DIR = "/srv/faults/models"
DOWNLOAD_PORT = 8799


def run_download(stack: Stack, model: str, speed: str, checksum: str) -> subprocess.Popen:
    """Start tests/faults/download.yml (the stack role's download task file) on the sandbox; its process."""
    here = os.path.dirname(os.path.abspath(__file__))
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    extra = {"faults_models_dir": DOWNLOAD_DIR, "faults_model_checksum": checksum,
             "faults_model_url": "http://127.0.0.1:%d/%s/%s" % (DOWNLOAD_PORT, speed, model)}
    return subprocess.Popen([playbook, "-l", stack.host, "-e", json.dumps(extra), os.path.join(here, "faults", "download.yml")],
                            cwd=os.path.dirname(here), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_NOCOLOR="1"))


def files_under(stack: Stack, directory: str) -> Dict[str, int]:
    """Every file under ``directory`` on the sandbox (hidden ones and .partial included): path -> bytes."""
    out = stack.sh("find", directory, "-type", "f", "-printf", "%p %s\\n")
    return {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1]) for line in out.splitlines() if line.strip()}


def download_full(stack: Stack) -> Tuple[bool, str, str]:
    """Row 5: a model download into a full models filesystem, one killed half-way, then one with space."""
    model = stack.sh("sh", "-c", "cd /srv/frontier-models && ls *.gguf | head -n 1").strip()
    size = int(stack.sh("stat", "-c", "%s", "/srv/frontier-models/" + model))
    checksum = "sha256:" + stack.sh("sha256sum", "/srv/frontier-models/" + model).split()[0]
    final = DOWNLOAD_DIR + "/" + model
    stack.sh("sh", "-c", "umount %s 2>/dev/null; mkdir -p %s && mount -t tmpfs -o size=%dk faults-models %s"
             % (DOWNLOAD_DIR, DOWNLOAD_DIR, size // 3 >> 10, DOWNLOAD_DIR))
    subprocess.run(["docker", "exec", "-d", stack.host, "python3", "-c", FILE_SERVER, str(DOWNLOAD_PORT),
                    "/srv/frontier-models"], check=True)
    problems: List[str] = []
    try:
        # 1. A third of the file's size: the run must fail naming the directory and leave nothing behind.
        full = run_download(stack, model, "fast", checksum)
        output = full.communicate(timeout=300)[0]
        left_full = sum(files_under(stack, DOWNLOAD_DIR).values())
        if full.returncode == 0:
            problems.append("the download into a full filesystem did not fail")
        if "No space left on device" not in output or "into %s on %s" % (DOWNLOAD_DIR, stack.host) not in output:
            problems.append("the failure does not name the full disk and the directory: %s"
                            % " | ".join(line for line in output.splitlines() if "fatal" in line or "msg" in line)[:600])
        if left_full:
            problems.append("%d bytes left after the failed download" % left_full)
        # 2. Space, but the download killed half-way (the module's process, as a crash would): nothing under the name.
        stack.sh("mount", "-o", "remount,size=%dk" % ((size * 2) >> 10), DOWNLOAD_DIR)
        crashed = run_download(stack, model, "slow", checksum)
        partial = DOWNLOAD_DIR + "/.partial"
        wait_until(lambda: sum(files_under(stack, DOWNLOAD_DIR).values()) > 4 << 20, 120)
        writers = stack.sh("sh", "-c", "for p in /proc/[0-9]*; do ls -l $p/fd 2>/dev/null | grep -q ' %s/' && "
                           "echo ${p#/proc/}; done; true" % partial).split()
        if writers:
            stack.sh("kill", "-KILL", *writers)
        crashed.kill()
        crashed.communicate(timeout=60)
        left_crash = files_under(stack, DOWNLOAD_DIR)
        if not writers:
            problems.append("no process was writing into %s to kill" % partial)
        if final in left_crash:
            problems.append("the killed download left a file under the model's name (%d bytes)" % left_crash[final])
        crash_bytes = sum(left_crash.values())
        # 3. The next run completes: the model whole under its name, the leftovers gone; then a run changes nothing.
        again = run_download(stack, model, "fast", checksum)
        output = again.communicate(timeout=300)[0]
        after = files_under(stack, DOWNLOAD_DIR)
        if again.returncode != 0:
            problems.append("the run with space failed: %s" % output[-600:])
        elif after != {final: size} or stack.sh("sha256sum", final).split()[0] != checksum.split(":", 1)[1]:
            problems.append("after the run with space: %s" % after)
        third = run_download(stack, model, "fast", checksum)
        output = third.communicate(timeout=300)[0]
        if third.returncode != 0 or not re.search(r"frontier-sandbox +: ok=\d+ +changed=0 ", output):
            problems.append("a second run with the model in place is not changed=0: %s" % output[-400:])
        left_after = sum(size_ for path, size_ in after.items() if path != final)
    finally:
        # "[i]" keeps pkill from matching this very shell, whose command line holds the pattern too.
        stack.sh("sh", "-c", "pkill -f '[i]mport http.server, os, sys, time'; umount %s; rmdir %s; true"
                 % (DOWNLOAD_DIR, DOWNLOAD_DIR))
    held = not problems
    what = ("the full disk named, nothing left; a killed download never under the model's name, cleared and completed "
            "by the next run, then changed=0" if held else "; ".join(problems))
    return held, what, "bytes left: %d after the full-disk failure, %d (in .partial) after the kill, %d after the next run" % (
        left_full, crash_bytes, left_after)


# Request fields llama-server would honour that the plan does not allow a user key (plugins/module_utils/gateway.py
# FIELDS): n completions at once over every slot, a slot of its own choosing, LoRA adapters, 1000 candidates a token.
OVER_PLAN = (("n", 8), ("n_cmpl", 8), ("id_slot", 0), ("lora", [{"id": 0, "scale": 1.0}]), ("n_probs", 1000),
             ("top_logprobs", 1000))


def engine_rss(stack: Stack) -> int:
    """The llama-server process's resident memory in KiB (/proc/PID/status on the sandbox)."""
    return int(stack.sh("sh", "-c", "grep VmRSS /proc/$(pgrep -x llama-server)/status").split()[1])


def over_plan(stack: Stack) -> Tuple[bool, str, str]:
    """Row 6: requests setting fields beyond the plan, on the user key: refused at the gateway, engine memory unchanged."""
    before = engine_rss(stack)
    refused: List[str] = []
    for field, value in OVER_PLAN:
        conn = stack.connection(30)
        try:
            body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}],
                               "max_tokens": 64, field: value})
            conn.request("POST", "/v1/chat/completions", body=body,
                         headers={"Authorization": "Bearer " + stack.keys["default"], "Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read().decode(errors="replace")
        finally:
            conn.close()
        # The gateway's refusal is {"error": "<field> ..."}; llama-server's own 400 (it refuses n above its slots
        # itself) has an object there, so it does not count as refused at the gateway.
        try:
            error = json.loads(answer).get("error")
        except (ValueError, AttributeError):
            error = None
        if response.status == 400 and isinstance(error, str) and error.startswith(field + " "):
            refused.append(field)
    after = engine_rss(stack)
    held = len(refused) == len(OVER_PLAN) and abs(after - before) < max(before // 20, 1024)
    fields = ", ".join(field for field, _value in OVER_PLAN)
    what = ("each refused at the gateway (400 naming the field); the engine's memory unchanged" if held else
            "refused %s of %s; engine RSS %d -> %d KiB" % (refused, fields, before, after))
    return held, what, "%d/%d refused (%s); engine RSS %.1f MiB before, %.1f MiB after" % (
        len(refused), len(OVER_PLAN), fields, before / 1024, after / 1024)


def engine_full_id(stack: Stack, engine: str) -> str:
    """The engine container's full id."""
    return stack.sh("docker", "inspect", "-f", "{{.Id}}", engine).strip()


# Where the sandbox's Docker engine puts a container's cgroup, and the file of its peak memory: cgroup v1
# (memory.max_usage_in_bytes, resettable) or v2 (memory.peak), with the cgroupfs or the systemd driver.
PEAK_FILES = ("/sys/fs/cgroup/memory/docker/{id}/memory.max_usage_in_bytes",
              "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope/memory.max_usage_in_bytes",
              "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.peak",
              "/sys/fs/cgroup/docker/{id}/memory.peak")


def find_peak_file(stack: Stack, container_id: str) -> Optional[str]:
    """The first of PEAK_FILES that exists for the container on the sandbox, or None."""
    for pattern in PEAK_FILES:
        path = pattern.format(id=container_id)
        if subprocess.run(["docker", "exec", stack.host, "test", "-r", path], check=False).returncode == 0:
            return path
    return None


def read_peak(stack: Stack, peak_file: Optional[str]) -> Optional[int]:
    """The engine cgroup's peak memory in bytes, or None where it is not readable."""
    if not peak_file:
        return None
    try:
        return int(stack.sh("cat", peak_file).strip())
    except (subprocess.CalledProcessError, ValueError):
        return None


def main() -> int:
    """Run each fault in turn, print the table, return 1 when something that must hold did not."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="frontier-sandbox")
    parser.add_argument("--url", default="https://127.0.0.1:8443")
    parser.add_argument("--ca", default="plans/certs/frontier-sandbox.pem")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--only", type=int, action="append", help="run this row only (1-6; repeatable)")
    args = parser.parse_args()
    stack = Stack(args.host, args.url, args.ca)
    rows: List[Tuple[str, bool, str, str]] = []
    faults = (("engine kill -9 during 8 open streams", engine_kill),
              ("Nginx reload during 32 open streams", nginx_reload),
              ("systemctl restart docker on the host", docker_restart),
              ("load: %d requests, concurrency 8, %d keys" % (args.requests, len(stack.keys)), lambda s: load(s, requests=args.requests)),
              ("models filesystem full during a model download", download_full),
              ("a user request beyond the plan (llama-server fields)", over_plan))
    for number, (name, run) in enumerate(faults, start=1):
        if args.only and number not in args.only:
            continue
        began = time.monotonic()
        print("faults: %s ..." % name, flush=True)
        try:
            held, what, figure = run(stack)
        except (subprocess.SubprocessError, OSError, http.client.HTTPException, ValueError) as error:
            held, what, figure = False, "the fault could not be run: %s" % error, "-"
        rows.append((name, held, what, figure))
        verdict = "held" if held else "FAILED"
        print("faults: %s: %s in %.0f s: %s; %s" % (name, verdict, time.monotonic() - began, what, figure), flush=True)
    print("\nfaults: the table (sandbox host %s, genuine llama-server behind Nginx)" % args.host)
    print("| fault | must hold | held | figure |\n|---|---|---|---|")
    for name, held, what, figure in rows:
        print("| %s | %s | %s | %s |" % (name, what, "yes" if held else "NO", figure))
    return 0 if all(row[1] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
