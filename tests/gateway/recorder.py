"""A recording upstream: a TEST DOUBLE standing in for an inference engine behind the gateway.

It answers every request with 200 and a small JSON body, and appends what reached it (method, raw path, body)
to a JSON-lines file, so the gateway tests can assert exactly which requests the rendered Nginx configuration
passed on. It implements none of any engine's behaviour.

Usage: python3 recorder.py PORT LOG_FILE
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(BaseHTTPRequestHandler):
    """Record the request, answer 200."""

    protocol_version = "HTTP/1.1"
    log_file = ""

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        entry = {"method": self.command, "path": self.path, "body": body,
                 "key_name": self.headers.get("X-Frontier-Key-Name", ""),
                 "authorization": self.headers.get("Authorization", "")}
        with open(self.log_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        answer = b'{"recorded": true}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _record

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
        """Quiet: the log file is the record."""


def main() -> None:
    """Serve on every address of the container's network (the gateway's backend network only)."""
    Recorder.log_file = sys.argv[2]
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Recorder).serve_forever()


if __name__ == "__main__":
    main()
