"""The ``ollama`` command of the ollama-standin TEST DOUBLE (tests only; it is NOT Ollama).

It answers the commands our Compose files and checks run against Ollama's image, with
Ollama's output shapes and exit codes, through the HTTP API at ``OLLAMA_HOST``:

    ollama serve          run the stand-in server (the image's CMD)
    ollama list | ls      the pulled models; exit 0 when the server answers (the healthcheck)
    ollama ps             the loaded models
    ollama pull NAME      pull, printing progress as it arrives
    ollama --version      the server's version (and the client's)

Python 3 standard library only (urllib), as in the image nothing else is installed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import server

TIMEOUT_SECONDS = 30
USAGE = """Usage: ollama COMMAND   (the ollama-standin test double, not Ollama)

Commands:
  serve       Start the stand-in server
  list, ls    List models
  ps          List running models
  pull NAME   Pull a model
  -v, --version  Show version information
"""
CONNECT_ERROR = "Error: could not connect to ollama server, run 'ollama serve' to start it"


class ClientError(Exception):
    """A request failed; the message is what to print after ``Error: ``."""


def base_url(env: Mapping[str, str]) -> str:
    """The server's URL from ``OLLAMA_HOST``; a wildcard address means this machine."""
    scheme, host, port = server.parse_host(env.get("OLLAMA_HOST"))
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s:%d" % (scheme, host, port)


def _open(env: Mapping[str, str], path: str, body: Optional[Dict[str, Any]] = None) -> Any:
    """The open HTTP response for ``path`` (POST with a JSON body), or ClientError."""
    data = None if body is None else json.dumps(body).encode()
    request = Request(base_url(env) + path, data=data, headers={"Content-Type": "application/json"})
    try:
        return urlopen(request, timeout=TIMEOUT_SECONDS)  # noqa: S310 (our own server's URL)
    except HTTPError as error:
        raise ClientError(_error_text(error.read()) or "%d %s" % (error.code, error.reason)) from error
    except (URLError, OSError) as error:
        raise ClientError(CONNECT_ERROR[len("Error: "):]) from error


def _error_text(body: bytes) -> str:
    """The ``error`` of an Ollama error body, or the body itself."""
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace").strip()


def get_json(env: Mapping[str, str], path: str) -> Dict[str, Any]:
    """GET ``path`` and decode its JSON."""
    with _open(env, path) as response:
        return json.loads(response.read())


def stream_json(env: Mapping[str, str], path: str, body: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    """POST ``body`` and yield each NDJSON line of the answer as it arrives."""
    with _open(env, path, body) as response:
        for line in response:
            if line.strip():
                yield json.loads(line)


def human_bytes(size: int) -> str:
    """Sizes as Ollama prints them: decimal units, ``2.0 GB``, ``637 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            value = size / scale
            return "%d %s" % (value, unit) if value >= 10 or value == int(value) else "%.1f %s" % (value, unit)
    return "%d B" % size


def human_time(moment: str, now: Optional[float] = None) -> str:
    """``3 minutes ago`` or ``4 minutes from now`` for an RFC 3339 timestamp."""
    delta = datetime.fromisoformat(moment).timestamp() - (time.time() if now is None else now)
    seconds = abs(delta)
    for unit, length in (("year", 31536000), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= length:
            count = int(seconds // length)
            text = "%d %s%s" % (count, unit, "" if count == 1 else "s")
            break
    else:
        return "Less than a second ago" if delta <= 0 else "Less than a second from now"
    return text + (" ago" if delta <= 0 else " from now")


def table(headers: Sequence[str], rows: List[Sequence[str]]) -> str:
    """Left-aligned columns separated by spaces, as Ollama's tables."""
    widths = [max([len(header)] + [len(row[index]) for row in rows]) for index, header in enumerate(headers)]
    lines = ["    ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in [list(headers)] + [list(row) for row in rows]]
    return "\n".join(lines)


def command_list(env: Mapping[str, str]) -> int:
    """``ollama list``: NAME, ID, SIZE, MODIFIED."""
    models = get_json(env, "/api/tags")["models"]
    rows = [(model["name"], model["digest"][:12], human_bytes(model["size"]), human_time(model["modified_at"]))
            for model in models]
    print(table(("NAME", "ID", "SIZE", "MODIFIED"), rows))
    return 0


def command_ps(env: Mapping[str, str]) -> int:
    """``ollama ps``: NAME, ID, SIZE, PROCESSOR, CONTEXT, UNTIL."""
    models = get_json(env, "/api/ps")["models"]
    rows = [(model["name"], model["digest"][:12], human_bytes(model["size"]), "100% CPU",
             str(model.get("context_length", "")), human_time(model["expires_at"])) for model in models]
    print(table(("NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"), rows))
    return 0


def command_pull(env: Mapping[str, str], name: str) -> int:
    """``ollama pull NAME``: one progress line per step on stderr, as Ollama's progress goes."""
    for event in stream_json(env, "/api/pull", {"model": name, "stream": True}):
        if "error" in event:
            raise ClientError(str(event["error"]))
        status = event.get("status", "")
        if event.get("total"):
            percent = 100 * int(event.get("completed", 0)) // int(event["total"])
            status = "%s: %3d%% %s" % (status, percent, human_bytes(int(event["total"])))
        print(status, file=sys.stderr, flush=True)
    return 0


def command_version(env: Mapping[str, str]) -> int:
    """``ollama --version``: the server's version, or the client's when no server answers."""
    try:
        print("ollama version is %s" % get_json(env, "/api/version")["version"])
    except ClientError:
        print("Warning: could not connect to a running Ollama instance")
        print("Warning: client version is %s" % server.VERSION)
    return 0


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run one command; Ollama's exit codes (0, or 1 with ``Error: ...`` on stderr)."""
    command, arguments = (argv[0], list(argv[1:])) if argv else ("help", [])
    try:
        if command == "serve":
            return server.serve(env)
        if command in ("list", "ls"):
            return command_list(env)
        if command == "ps":
            return command_ps(env)
        if command == "pull":
            if len(arguments) != 1:
                raise ClientError("accepts 1 arg(s), received %d" % len(arguments))
            return command_pull(env, arguments[0])
        if command in ("-v", "--version", "version"):
            return command_version(env)
        if command in ("help", "-h", "--help"):
            print(USAGE, end="")
            return 0
        raise ClientError('unknown command "%s" for "ollama" (the ollama-standin test double '
                          "implements serve, list, ps, pull, --version)" % command)
    except ClientError as error:
        print("Error: %s" % error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], os.environ))
