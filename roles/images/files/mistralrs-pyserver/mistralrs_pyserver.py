# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mistralrs-pyserver: an OpenAI-compatible HTTP server around the real mistral.rs engine.

The inference is mistral.rs's own (the PyPI wheel ``mistralrs``, the engine compiled as a Python
extension); the HTTP part is frontier.llm's, for sites where upstream's server image cannot be
had. It reads the same TOML file as upstream's ``mistralrs from-config --file`` (the subset the
frontier.llm stack writes: ``command = "serve"``, ``[server]`` host and port, ``[runtime]``
max_seqs and prefix_cache_n, ``[global]`` seed and token_source, ``[paged_attn]`` mode, and GGUF
``[[models]]``) and refuses any other key rather than ignore it, so a setting never silently
does nothing.

Endpoints: ``GET /health`` (503 while the models load, 200 once every model serves),
``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/completions``, each with
``stream: true`` as server-sent events ending in ``data: [DONE]``. A model that fails to load
ends the process (non-zero), so the container restarts and its healthcheck reports it.
Standard library only, besides ``mistralrs``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

VERSION = "1"
# The keys of upstream's TOML that this server honours; anything else is refused.
ALLOWED: Dict[str, Tuple[str, ...]] = {
    "": ("command", "default_model_id", "global", "server", "runtime", "paged_attn", "models"),
    "global": ("seed", "token_source"),
    "server": ("host", "port"),
    "runtime": ("max_seqs", "prefix_cache_n"),
    "paged_attn": ("mode",),
    "model": ("kind", "model_id", "format", "device"),
    "model.format": ("format", "quantized_file", "tok_model_id"),
    "model.device": ("cpu", "max_seq_len", "max_batch_size"),
}


class ConfigError(ValueError):
    """The TOML file asks for something this server does not do."""


def _check_keys(table: Mapping[str, Any], section: str, where: str) -> None:
    unknown = sorted(set(table) - set(ALLOWED[section]))
    if unknown:
        raise ConfigError("%s: %s not supported by mistralrs-pyserver (supported: %s)"
                          % (where or "top level", ", ".join(unknown), ", ".join(ALLOWED[section])))


def read_config(text: str) -> Dict[str, Any]:
    """Parse and check upstream's ``from-config`` TOML; return the settings this server uses."""
    data = tomllib.loads(text)
    _check_keys(data, "", "")
    for section in ("global", "server", "runtime", "paged_attn"):
        _check_keys(data.get(section, {}), section, "[%s]" % section)
    if data.get("command") != "serve":
        raise ConfigError("command: %r; mistralrs-pyserver only serves (command = \"serve\")" % data.get("command"))
    if data.get("paged_attn", {}).get("mode", "off") != "off":
        raise ConfigError("[paged_attn] mode: only \"off\" (this server runs mistral.rs on the CPU)")
    models = data.get("models") or []
    if not models:
        raise ConfigError("[[models]]: no model to serve")
    parsed = []
    for index, model in enumerate(models):
        where = "[[models]] #%d" % (index + 1)
        _check_keys(model, "model", where)
        _check_keys(model.get("format", {}), "model.format", where + " [models.format]")
        _check_keys(model.get("device", {}), "model.device", where + " [models.device]")
        fmt = model.get("format", {})
        if model.get("kind", "auto") not in ("auto", "text") or fmt.get("format") != "gguf" or not fmt.get("quantized_file"):
            raise ConfigError("%s: only text models in GGUF (kind text, format gguf, a quantized_file)" % where)
        if not isinstance(model.get("model_id"), str) or not model["model_id"]:
            raise ConfigError("%s: model_id (the directory of the GGUF file) is missing" % where)
        device = model.get("device", {})
        parsed.append({"model_id": model["model_id"], "quantized_file": fmt["quantized_file"],
                       "tok_model_id": fmt.get("tok_model_id"), "max_seq_len": int(device.get("max_seq_len", 4096)),
                       "max_batch_size": int(device.get("max_batch_size", 1))})
    ids = [model["model_id"] for model in parsed]
    if len(set(ids)) != len(ids):
        raise ConfigError("[[models]]: a model_id appears twice: %s" % ", ".join(ids))
    default = data.get("default_model_id", ids[0])
    if default not in ids:
        raise ConfigError("default_model_id: %r is not a model_id of [[models]]" % default)
    server, runtime, glob = data.get("server", {}), data.get("runtime", {}), data.get("global", {})
    return {"host": str(server.get("host", "0.0.0.0")), "port": int(server.get("port", 1234)),
            "max_seqs": int(runtime.get("max_seqs", 32)), "prefix_cache_n": int(runtime.get("prefix_cache_n", 16)),
            "seed": glob.get("seed"), "token_source": str(glob.get("token_source", "none")),
            "models": parsed, "default_model_id": default}


# Request fields of the OpenAI API -> mistral.rs request arguments (both chat and text completions).
SAMPLING = {"max_tokens": "max_tokens", "max_completion_tokens": "max_tokens", "temperature": "temperature",
            "top_p": "top_p", "top_k": "top_k", "min_p": "min_p", "presence_penalty": "presence_penalty",
            "frequency_penalty": "frequency_penalty", "repetition_penalty": "repetition_penalty", "n": "n_choices"}


def request_arguments(body: Mapping[str, Any], models: Iterable[str], default: str, chat: bool) -> Dict[str, Any]:
    """The keyword arguments of mistral.rs's request for an OpenAI request body; ValueError when it is unusable."""
    model = body.get("model") or default
    if model not in list(models):
        raise LookupError("model %r is not served here (models: %s)" % (model, ", ".join(models)))
    args: Dict[str, Any] = {"model": model}
    if chat:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages: a non-empty list is required")
        args["messages"] = messages
    else:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1:
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise ValueError("prompt: one string is required")
        args["prompt"] = prompt
    for field, name in SAMPLING.items():
        if body.get(field) is not None:
            args[name] = body[field]
    stop = body.get("stop")
    if stop is not None:
        args["stop_seqs"] = [stop] if isinstance(stop, str) else list(stop)
    if chat:
        args["stream"] = bool(body.get("stream"))
    return args


def _usage(usage: Any) -> Optional[Dict[str, int]]:
    if usage is None:
        return None
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens}


def chat_response(response: Any) -> Dict[str, Any]:
    """A mistral.rs chat completion as the OpenAI JSON object."""
    return {"id": response.id, "object": "chat.completion", "created": response.created, "model": response.model,
            "choices": [{"index": choice.index, "finish_reason": choice.finish_reason,
                         "message": {"role": choice.message.role, "content": choice.message.content}}
                        for choice in response.choices],
            "usage": _usage(response.usage)}


def chat_chunk(chunk: Any) -> Dict[str, Any]:
    """A mistral.rs streamed chunk as the OpenAI ``chat.completion.chunk`` object."""
    choices = []
    for choice in chunk.choices:
        delta = {key: getattr(choice.delta, key) for key in ("role", "content") if getattr(choice.delta, key, None)}
        choices.append({"index": choice.index, "delta": delta, "finish_reason": choice.finish_reason})
    out = {"id": chunk.id, "object": "chat.completion.chunk", "created": chunk.created, "model": chunk.model,
           "choices": choices}
    if getattr(chunk, "usage", None) is not None:
        out["usage"] = _usage(chunk.usage)
    return out


def text_response(response: Any) -> Dict[str, Any]:
    """A mistral.rs text completion as the OpenAI ``text_completion`` object."""
    return {"id": response.id, "object": "text_completion", "created": response.created, "model": response.model,
            "choices": [{"index": choice.index, "text": choice.text, "finish_reason": choice.finish_reason}
                        for choice in response.choices],
            "usage": _usage(response.usage)}


class Engine:
    """The loaded mistral.rs runners, one per model, and their load state."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.runners: Dict[str, Any] = {}
        self.ready = threading.Event()
        self.error: Optional[str] = None

    def load(self) -> None:
        """Load every model (in the calling thread); on failure record the error and end the process."""
        try:
            import mistralrs  # pylint: disable=import-outside-toplevel
            for model in self.config["models"]:
                started = time.monotonic()
                which = mistralrs.Which.GGUF(quantized_model_id=model["model_id"],
                                             quantized_filename=model["quantized_file"],
                                             tok_model_id=model["tok_model_id"])
                kwargs: Dict[str, Any] = {"which": which, "max_seqs": self.config["max_seqs"],
                                          "prefix_cache_n": self.config["prefix_cache_n"],
                                          "token_source": self.config["token_source"], "no_paged_attn": True}
                if self.config["seed"] is not None:
                    kwargs["seed"] = int(self.config["seed"])
                self.runners[model["model_id"]] = mistralrs.Runner(**kwargs)
                print("mistralrs-pyserver: loaded %s (%s) in %.1f s"
                      % (model["model_id"], model["quantized_file"], time.monotonic() - started), flush=True)
            self.ready.set()
        except Exception as err:  # pylint: disable=broad-except
            self.error = "%s: %s" % (type(err).__name__, err)
            print("mistralrs-pyserver: loading failed: %s" % self.error, file=sys.stderr, flush=True)
            # A server that cannot serve must not look alive: the container restarts and says why.
            os._exit(3)  # pylint: disable=protected-access

    def chat(self, args: Dict[str, Any]) -> Any:
        """Send a chat completion request to its model's runner."""
        import mistralrs  # pylint: disable=import-outside-toplevel
        return self.runners[args["model"]].send_chat_completion_request(mistralrs.ChatCompletionRequest(**args))

    def complete(self, args: Dict[str, Any]) -> Any:
        """Send a text completion request to its model's runner."""
        import mistralrs  # pylint: disable=import-outside-toplevel
        return self.runners[args["model"]].send_completion_request(mistralrs.CompletionRequest(**args))


class Handler(BaseHTTPRequestHandler):
    """The HTTP API; ``engine`` is set on the class by :func:`serve`."""

    engine: Engine
    protocol_version = "HTTP/1.1"
    server_version = "mistralrs-pyserver/" + VERSION

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """One line per request on stdout, without the client's headers."""
        print("%s %s" % (self.address_string(), format % args), flush=True)

    def _json(self, status: int, body: Any) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self._json(status, {"error": {"message": message, "type": kind}})

    def _events(self, chunks: Iterable[Dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            self._chunk(("data: %s\n\n" % json.dumps(chunk)).encode())
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        """/health and /v1/models."""
        path = self.path.split("?", 1)[0]
        if path == "/health":
            if self.engine.ready.is_set():
                self._json(200, {"status": "ok"})
            else:
                self._json(503, {"status": "loading", "error": self.engine.error})
        elif path == "/v1/models":
            self._json(200, {"object": "list", "data": [
                {"id": model["model_id"], "object": "model", "owned_by": "local", "created": 0}
                for model in self.engine.config["models"]]})
        else:
            self._error(404, "not found: %s" % path)

    def do_POST(self) -> None:  # pylint: disable=invalid-name
        """/v1/chat/completions and /v1/completions."""
        path = self.path.split("?", 1)[0]
        if path not in ("/v1/chat/completions", "/v1/completions"):
            self._error(404, "not found: %s" % path)
            return
        if not self.engine.ready.is_set():
            self._error(503, "the models are still loading", "server_error")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            chat = path == "/v1/chat/completions"
            args = request_arguments(body, [m["model_id"] for m in self.engine.config["models"]],
                                     self.engine.config["default_model_id"], chat)
        except LookupError as err:
            self._error(404, str(err))
            return
        except ValueError as err:
            self._error(400, str(err))
            return
        try:
            if chat and args["stream"]:
                self._events(chat_chunk(chunk) for chunk in self.engine.chat(args))
            elif chat:
                self._json(200, chat_response(self.engine.chat(args)))
            else:
                response = text_response(self.engine.complete(args))
                if body.get("stream"):
                    # mistral.rs streams chat only: a streamed text completion is sent as one event.
                    self._events([response])
                else:
                    self._json(200, response)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # pylint: disable=broad-except
            self._error(500, "%s: %s" % (type(err).__name__, err), "server_error")


def serve(config: Dict[str, Any]) -> None:
    """Load the models in the background and answer HTTP until killed."""
    engine = Engine(config)
    Handler.engine = engine
    threading.Thread(target=engine.load, name="load", daemon=True).start()
    server = ThreadingHTTPServer((config["host"], config["port"]), Handler)
    server.daemon_threads = True
    print("mistralrs-pyserver %s: listening on %s:%d, loading %s"
          % (VERSION, config["host"], config["port"], ", ".join(m["model_id"] for m in config["models"])), flush=True)
    server.serve_forever()


def main(argv: Optional[List[str]] = None) -> int:
    """``mistralrs-pyserver from-config --file PATH`` (upstream's CLI for a TOML file) or ``--version``."""
    parser = argparse.ArgumentParser(prog="mistralrs-pyserver", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--version", action="store_true", help="print the versions and exit")
    commands = parser.add_subparsers(dest="command")
    from_config = commands.add_parser("from-config", help="serve what a mistral.rs TOML file describes")
    from_config.add_argument("--file", required=True, help="the TOML file (upstream's from-config format)")
    options = parser.parse_args(argv)
    if options.version:
        from importlib.metadata import version  # pylint: disable=import-outside-toplevel
        print("mistralrs-pyserver %s, mistralrs %s" % (VERSION, version("mistralrs")))
        return 0
    if options.command != "from-config":
        parser.error("a command is needed: from-config --file PATH")
    try:
        with open(options.file, "rb") as handle:
            config = read_config(handle.read().decode())
    except (OSError, ValueError, tomllib.TOMLDecodeError) as err:
        print("mistralrs-pyserver: %s: %s" % (options.file, err), file=sys.stderr)
        return 2
    serve(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
