"""ollama-standin: a TEST DOUBLE of Ollama's REST API, for frontier.llm's tests only. It is NOT Ollama.

Ollama cannot be had on the machines our tests run on, so the Molecule scenarios run this
small server in its place, in the locally built image ``frontier-test/ollama-standin:1``.
It implements the part of Ollama's API that the collection's roles and checks use, with
the same request and response shapes, and runs no model: every reply is a canned,
deterministic text that says it comes from a stand-in. Every response carries the header
``X-Frontier-Standin: ollama`` and the server says what it is when it starts.

It reads the environment Ollama reads (``OLLAMA_HOST``, ``OLLAMA_MODELS``,
``OLLAMA_KEEP_ALIVE``, ``OLLAMA_NUM_PARALLEL``, ``OLLAMA_MAX_QUEUE``,
``OLLAMA_CONTEXT_LENGTH``) and shows what it received at ``GET /standin/env``; counters
at ``GET /standin/stats`` let a test prove, say, that a model was pulled only once.
Its own knobs: ``STANDIN_PULL_SECONDS`` (how long a pull of a missing model takes, default
1), ``STANDIN_TOKEN_SECONDS`` (delay between streamed words, default 0.02) and
``STANDIN_MISSING_MODELS`` (comma-separated names the "registry" does not have).

Python 3 standard library only; ``python3 server.py`` serves (see also the ``ollama`` shim).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

VERSION = "0.13.4-standin"
STANDIN_HEADER = "X-Frontier-Standin"
DEFAULT_PORT = 11434
DEFAULT_REGISTRY = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
FOREVER_SECONDS = 106751 * 86400.0  # Go's largest duration, what Ollama shows for a negative keep_alive
BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
REPLY_PREFIX = "standin reply to:"
PROMPT_WORDS_ECHOED = 8

_LOG_LOCK = threading.Lock()


def log(line: str) -> None:
    """Write one line to stdout at once, even from many handler threads."""
    with _LOG_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def now_iso(moment: Optional[float] = None) -> str:
    """An RFC 3339 timestamp in local time, as Ollama writes ``created_at`` and ``modified_at``."""
    when = datetime.fromtimestamp(time.time() if moment is None else moment, tz=timezone.utc)
    return when.astimezone().isoformat()


# --- durations and the environment -------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration such as ``5m``, ``1h30m``, ``1.5s``, ``-1m`` or ``0``.

    Raises ValueError for anything ``time.ParseDuration`` would reject.
    """
    rest = text.strip()
    sign = -1.0 if rest.startswith("-") else 1.0
    rest = rest[1:] if rest[:1] in ("-", "+") else rest
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError("invalid duration %r" % text)
    total, position = 0.0, 0
    while position < len(rest):
        part = _DURATION_PART.match(rest, position)
        if not part:
            raise ValueError("invalid duration %r" % text)
        total += float(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        position = part.end()
    return sign * total


def parse_keep_alive(value: Any) -> float:
    """Seconds a model stays loaded: a number of seconds or a Go duration; below zero is forever.

    Strings of bare digits are read as seconds too, as Ollama reads ``OLLAMA_KEEP_ALIVE``.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("invalid keep_alive %r" % (value,))
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"[-+]?\d+", text):
        return float(int(text))
    return parse_go_duration(text)


def _split_host_port(hostport: str) -> Optional[Tuple[str, str]]:
    """``host:port`` or ``[v6]:port`` split as Go's net.SplitHostPort does, or None without a port."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or hostport[end + 1:end + 2] != ":":
            return None
        return hostport[1:end], hostport[end + 2:]
    if hostport.count(":") != 1:
        return None
    host, port = hostport.split(":")
    return host, port


def parse_host(value: Optional[str]) -> Tuple[str, str, int]:
    """(scheme, host, port) from ``OLLAMA_HOST`` the way Ollama's envconfig.Host reads it.

    Unset means 127.0.0.1:11434 (Ollama's own default; its image sets 0.0.0.0:11434, and so
    does ours); ``:11434`` means every address; ``http://`` and ``https://`` default to 80/443.
    """
    text = (value or "").strip()
    scheme, separator, hostport = text.partition("://")
    default_port = DEFAULT_PORT
    if not separator:
        scheme, hostport = "http", text
    elif scheme == "http":
        default_port = 80
    elif scheme == "https":
        default_port = 443
    hostport = hostport.split("/", 1)[0]
    split = _split_host_port(hostport)
    if split is None:
        host, port_text = (hostport.strip("[]") or "127.0.0.1"), str(default_port)
    else:
        host, port_text = split
    try:
        port = int(port_text)
    except ValueError:
        port = default_port
    if not 0 <= port <= 65535:
        port = default_port
    return scheme, host, port


def _env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """An integer variable, or ``default`` when it is unset, malformed or below ``minimum``."""
    try:
        value = int(env.get(name, "").strip())
    except ValueError:
        return default
    return value if value >= minimum else default


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative float variable, or ``default``."""
    try:
        value = float(env.get(name, "").strip())
    except ValueError:
        return default
    return value if value >= 0 else default


def _env_keep_alive(env: Mapping[str, str]) -> float:
    """``OLLAMA_KEEP_ALIVE`` in seconds, 5 minutes when unset or malformed (as Ollama)."""
    try:
        return parse_keep_alive(env.get("OLLAMA_KEEP_ALIVE", "").strip() or "5m")
    except ValueError:
        return 300.0


def received_env(env: Mapping[str, str]) -> Dict[str, str]:
    """Every ``OLLAMA_*`` variable and ``OMP_NUM_THREADS``: what the container was given."""
    return {key: value for key, value in sorted(env.items())
            if key.startswith("OLLAMA_") or key == "OMP_NUM_THREADS"}


@dataclass(frozen=True)
class Settings:
    """What the stand-in was configured with, read once at start-up."""

    host: str
    port: int
    models: Path
    keep_alive: float
    num_parallel: int
    max_queue: int
    context_length: int
    pull_seconds: float
    token_seconds: float
    missing: FrozenSet[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        """Read Ollama's variables (and the stand-in's own) from ``env``."""
        host, port = parse_host(env.get("OLLAMA_HOST"))[1:]
        models = env.get("OLLAMA_MODELS", "").strip() or str(Path.home() / ".ollama" / "models")
        missing = frozenset(name.strip() for name in env.get("STANDIN_MISSING_MODELS", "").split(",") if name.strip())
        return cls(host=host, port=port, models=Path(models), keep_alive=_env_keep_alive(env),
                   num_parallel=_env_int(env, "OLLAMA_NUM_PARALLEL", 1, minimum=1),
                   max_queue=_env_int(env, "OLLAMA_MAX_QUEUE", 512),
                   context_length=_env_int(env, "OLLAMA_CONTEXT_LENGTH", 4096, minimum=1),
                   pull_seconds=_env_float(env, "STANDIN_PULL_SECONDS", 1.0),
                   token_seconds=_env_float(env, "STANDIN_TOKEN_SECONDS", 0.02), missing=missing)

    def describe(self) -> Dict[str, Any]:
        """The effective settings as JSON-ready values."""
        return {"host": self.host, "port": self.port, "models": str(self.models), "keep_alive_seconds": self.keep_alive,
                "num_parallel": self.num_parallel, "max_queue": self.max_queue,
                "context_length": self.context_length, "pull_seconds": self.pull_seconds,
                "token_seconds": self.token_seconds, "missing_models": sorted(self.missing)}


# --- model names and the manifest store -----------------------------------------------------

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,349}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")


@dataclass(frozen=True)
class ModelName:
    """An Ollama model name, ``[host/][namespace/]model[:tag]``, with Ollama's defaults filled in."""

    host: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, raw: Any) -> Optional["ModelName"]:
        """The name in ``raw``, or None when Ollama would call it an invalid model name."""
        if not isinstance(raw, str) or not raw.strip():
            return None
        text, tag = raw.strip(), DEFAULT_TAG
        colon = text.rfind(":")
        if colon > text.rfind("/"):
            text, tag = text[:colon], text[colon + 1:]
        parts = text.split("/")
        if len(parts) > 3:
            return None
        parts = [DEFAULT_REGISTRY, DEFAULT_NAMESPACE][:3 - len(parts)] + parts
        name = cls(host=parts[0], namespace=parts[1], model=parts[2], tag=tag)
        return name if name.valid() else None

    def valid(self) -> bool:
        """True when every part has the characters and length Ollama allows."""
        return bool(_HOST.fullmatch(self.host) and _PART.fullmatch(self.namespace) and _PART.fullmatch(self.model)
                    and _TAG.fullmatch(self.tag))

    @property
    def display(self) -> str:
        """The short form Ollama lists: ``llama3.2:latest``, ``user/model:tag`` or the full name."""
        if self.host != DEFAULT_REGISTRY:
            return "%s/%s/%s:%s" % (self.host, self.namespace, self.model, self.tag)
        if self.namespace != DEFAULT_NAMESPACE:
            return "%s/%s:%s" % (self.namespace, self.model, self.tag)
        return "%s:%s" % (self.model, self.tag)

    def manifest_path(self, models: Path) -> Path:
        """Where Ollama keeps this model's manifest under ``OLLAMA_MODELS``."""
        return models / "manifests" / self.host / self.namespace / self.model / self.tag


_PARAMS = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)([bBmM])(?![A-Za-z0-9])")
_QUANT = re.compile(r"(?i)(q\d_k_[sml]|q\d_k|q\d_\d|bf16|fp16|f16)")


def model_details(name: ModelName) -> Dict[str, Any]:
    """Plausible ``details`` guessed from the name (``qwen2.5:0.5b-q8_0``); the default is 3.2B Q4_K_M."""
    found = _PARAMS.search(name.tag) or _PARAMS.search(name.model)
    parameter_size = (found.group(1) + found.group(2).upper()) if found else "3.2B"
    quant = _QUANT.search(name.tag)
    family = re.match(r"[A-Za-z]+", name.model)
    family_name = family.group(0).lower() if family else "llama"
    return {"parent_model": "", "format": "gguf", "family": family_name, "families": [family_name],
            "parameter_size": parameter_size, "quantization_level": quant.group(0).upper() if quant else "Q4_K_M"}


def weights_bytes(details: Mapping[str, Any]) -> int:
    """Bytes of the (imaginary) weights: parameters times the quantization's bits per weight."""
    size = str(details["parameter_size"])
    parameters = float(size[:-1]) * (1e9 if size.endswith("B") else 1e6)
    quant = str(details["quantization_level"])
    bits = 16.0 if "16" in quant else int(quant[1]) + 0.85
    return int(parameters * bits / 8)


def _digest(name: ModelName, what: str) -> str:
    """A stable ``sha256:...`` digest for one layer of a model."""
    return "sha256:" + hashlib.sha256(("%s|%s" % (name.display, what)).encode()).hexdigest()


def build_manifest(name: ModelName) -> Dict[str, Any]:
    """The manifest written for a pulled model: the shape of Ollama's, pointing at no real blob."""
    details = model_details(name)
    layers = [("application/vnd.ollama.image.model", weights_bytes(details)),
              ("application/vnd.ollama.image.template", 1429), ("application/vnd.ollama.image.license", 7711),
              ("application/vnd.ollama.image.params", 96)]
    return {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": _digest(name, "config"), "size": 561},
            "layers": [{"mediaType": media, "digest": _digest(name, media), "size": size} for media, size in layers],
            "frontier_standin": {"note": "written by the ollama-standin test double; no blob exists",
                                 "details": details}}


class ModelStore:
    """Pulled models, one manifest file each under ``OLLAMA_MODELS``, read afresh on every call."""

    def __init__(self, models: Path) -> None:
        self.models = models

    def prepare(self) -> None:
        """Create the directory layout Ollama creates at start-up."""
        (self.models / "manifests").mkdir(parents=True, exist_ok=True)
        (self.models / "blobs").mkdir(parents=True, exist_ok=True)

    def exists(self, name: ModelName) -> bool:
        """True when the model has been pulled."""
        return name.manifest_path(self.models).is_file()

    def write(self, name: ModelName) -> None:
        """Write the model's manifest atomically (a half-written file is never listed)."""
        path = name.manifest_path(self.models)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / (".%s.%d.tmp" % (name.tag, threading.get_ident()))
        temporary.write_text(json.dumps(build_manifest(name), indent=2, sort_keys=True) + "\n")
        os.replace(temporary, path)

    def entry(self, name: ModelName) -> Optional[Dict[str, Any]]:
        """The model as ``/api/tags`` lists it, or None when it has not been pulled."""
        path = name.manifest_path(self.models)
        try:
            raw = path.read_bytes()
            modified = path.stat().st_mtime
        except OSError:
            return None
        try:
            manifest = json.loads(raw)
            size = int(manifest["config"]["size"]) + sum(int(layer["size"]) for layer in manifest["layers"])
        except (ValueError, KeyError, TypeError):
            size = weights_bytes(model_details(name))
        return {"name": name.display, "model": name.display, "modified_at": now_iso(modified), "size": size,
                "digest": hashlib.sha256(raw).hexdigest(), "details": model_details(name)}

    def names(self) -> List[ModelName]:
        """Every pulled model, from the manifest tree."""
        found = []
        for path in (self.models / "manifests").glob("*/*/*/*"):
            name = ModelName(*path.relative_to(self.models / "manifests").parts)
            if path.is_file() and name.valid():
                found.append(name)
        return found

    def entries(self) -> List[Dict[str, Any]]:
        """Every pulled model as ``/api/tags`` lists it, the newest first (as Ollama sorts)."""
        entries = [entry for entry in (self.entry(name) for name in self.names()) if entry]
        return sorted(entries, key=lambda entry: (entry["modified_at"], entry["name"]), reverse=True)


# --- the running state: loaded models, generation slots, counters ----------------------------

@dataclass
class LoadedModel:
    """A model the stand-in pretends to hold in memory."""

    entry: Dict[str, Any]
    context_length: int
    expires: float
    in_use: int = 0


class QueueFull(Exception):
    """More requests wait than ``OLLAMA_MAX_QUEUE`` allows."""


@dataclass
class Counters:
    """What a test may want to know happened."""

    requests: int = 0
    requests_by_path: Dict[str, int] = field(default_factory=dict)
    pulls: int = 0
    pulls_by_model: Dict[str, int] = field(default_factory=dict)
    downloads: int = 0
    loads: int = 0
    loads_by_model: Dict[str, int] = field(default_factory=dict)
    generations: int = 0
    rejected: int = 0
    active: int = 0
    queued: int = 0
    peak_active: int = 0


def _bump(table: Dict[str, int], key: str) -> None:
    """Add one to ``table[key]``."""
    table[key] = table.get(key, 0) + 1


class Standin:
    """The shared state behind every request handler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = ModelStore(settings.models)
        self.counters = Counters()
        self.loaded: Dict[str, LoadedModel] = {}
        self.lock = threading.Condition()

    def count_request(self, method: str, path: str) -> None:
        """Count one HTTP request."""
        with self.lock:
            self.counters.requests += 1
            _bump(self.counters.requests_by_path, "%s %s" % (method, path))

    def count_pull(self, name: ModelName, downloaded: bool) -> None:
        """Count one completed pull (and whether it fetched a missing model)."""
        with self.lock:
            self.counters.pulls += 1
            self.counters.downloads += int(downloaded)
            _bump(self.counters.pulls_by_model, name.display)

    def _expiry(self, keep_alive: float) -> float:
        """When a model used now with ``keep_alive`` seconds unloads."""
        return time.time() + (FOREVER_SECONDS if keep_alive < 0 else keep_alive)

    def _purge(self) -> None:
        """Forget models whose keep-alive ran out and that no request uses (lock held)."""
        moment = time.time()
        for key in [key for key, model in self.loaded.items() if model.in_use == 0 and model.expires <= moment]:
            del self.loaded[key]

    def acquire(self, entry: Dict[str, Any], keep_alive: float, context_length: int) -> None:
        """Take a generation slot (waiting in the queue when all are busy) and load the model.

        Raises QueueFull when ``OLLAMA_MAX_QUEUE`` requests already wait.
        """
        with self.lock:
            counters = self.counters
            if counters.active >= self.settings.num_parallel and counters.queued >= self.settings.max_queue:
                counters.rejected += 1
                raise QueueFull(BUSY_MESSAGE)
            counters.queued += 1
            while counters.active >= self.settings.num_parallel:
                self.lock.wait()
            counters.queued -= 1
            counters.active += 1
            counters.generations += 1
            counters.peak_active = max(counters.peak_active, counters.active)
            self._load(entry, keep_alive, context_length).in_use += 1

    def release(self, entry: Dict[str, Any], keep_alive: float) -> None:
        """Give the slot back; the keep-alive counts from now, and 0 unloads the model."""
        with self.lock:
            self.counters.active -= 1
            model = self.loaded.get(entry["name"])
            if model:
                model.in_use -= 1
                model.expires = self._expiry(keep_alive)
                if keep_alive == 0 and model.in_use == 0:
                    del self.loaded[entry["name"]]
            self.lock.notify_all()

    def _load(self, entry: Dict[str, Any], keep_alive: float, context_length: int) -> LoadedModel:
        """Load the model unless it is loaded (lock held); counts real loads."""
        self._purge()
        model = self.loaded.get(entry["name"])
        if model is None or model.context_length != context_length:
            model = LoadedModel(entry=entry, context_length=context_length, expires=0.0,
                                in_use=model.in_use if model else 0)
            self.loaded[entry["name"]] = model
            self.counters.loads += 1
            _bump(self.counters.loads_by_model, entry["name"])
        model.expires = self._expiry(keep_alive)
        return model

    def preload(self, entry: Dict[str, Any], keep_alive: float, context_length: int) -> str:
        """An empty request: load the model (``load``) or, with keep_alive 0, unload it (``unload``)."""
        with self.lock:
            if keep_alive == 0:
                model = self.loaded.get(entry["name"])
                if model and model.in_use == 0:
                    del self.loaded[entry["name"]]
                return "unload"
            self._load(entry, keep_alive, context_length)
            return "load"

    def running(self) -> List[Dict[str, Any]]:
        """The loaded models as ``/api/ps`` lists them."""
        with self.lock:
            self._purge()
            models = sorted(self.loaded.values(), key=lambda model: model.entry["name"])
            return [dict(model.entry, size_vram=0, context_length=model.context_length,
                         expires_at=now_iso(model.expires)) for model in models]

    def stats(self) -> Dict[str, Any]:
        """The counters and the effective settings."""
        with self.lock:
            data = dict(vars(self.counters))
            data = {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}
        data["config"] = self.settings.describe()
        data["version"] = VERSION
        return data

    def pull_events(self, name: ModelName) -> Iterator[Dict[str, Any]]:
        """Ollama's pull progress, with a short pause per step when the model is missing.

        The manifest is written just before ``success``; a client that hangs up earlier leaves
        no model behind, as an interrupted pull does.
        """
        present = self.store.exists(name)
        manifest = build_manifest(name)
        steps = 4
        pause = 0.0 if present else self.settings.pull_seconds / (steps * len(manifest["layers"]))
        yield {"status": "pulling manifest"}
        for layer in manifest["layers"]:
            short = layer["digest"][len("sha256:"):][:12]
            for step in range(steps + 1):
                if step and not present:
                    time.sleep(pause)
                completed = layer["size"] if present else layer["size"] * step // steps
                yield {"status": "pulling %s" % short, "digest": layer["digest"], "total": layer["size"],
                       "completed": completed}
                if present:
                    break
        yield {"status": "verifying sha256 digest"}
        yield {"status": "writing manifest"}
        self.store.write(name)
        self.count_pull(name, downloaded=not present)
        yield {"status": "success"}


# --- canned generation ------------------------------------------------------------------------

def words_of(value: Any) -> List[str]:
    """The words of a prompt or of a message's content (a string or OpenAI's list of parts)."""
    if isinstance(value, list):
        value = " ".join(str(part.get("text", "")) for part in value if isinstance(part, dict))
    return str(value or "").split()


def last_user_words(messages: Any) -> List[str]:
    """The words of the last user message (or of the last message of any role)."""
    if not isinstance(messages, list):
        return []
    usable = [message for message in messages if isinstance(message, dict)]
    users = [message for message in usable if message.get("role") == "user"] or usable
    return words_of(users[-1].get("content")) if users else []


def reply_tokens(prompt_words: List[str], limit: Optional[int]) -> Tuple[List[str], str]:
    """The canned reply as word tokens (with Ollama's leading spaces) and the done reason."""
    words = (REPLY_PREFIX + " " + " ".join(prompt_words[:PROMPT_WORDS_ECHOED])).split()
    tokens = [word if index == 0 else " " + word for index, word in enumerate(words)]
    if limit is not None and 0 < limit < len(tokens):
        return tokens[:limit], "length"
    return tokens, "stop"


def _int_or_none(value: Any) -> Optional[int]:
    """``value`` as an int, or None."""
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


# --- HTTP ----------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """One request: route it, answer it, log one line."""

    protocol_version = "HTTP/1.1"
    server_version = "ollama-standin/" + VERSION
    sys_version = ""

    server: "StandinServer"
    routes: Dict[Tuple[str, str], Callable[["Handler"], None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.status = 0
        self.head_only = False
        self.chunked = False
        self.body = b""
        super().__init__(*args, **kwargs)

    # routing

    @property
    def standin(self) -> Standin:
        """The server's shared state."""
        return self.server.standin

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """GET."""
        self.dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        """HEAD: the GET route's status and headers, without a body."""
        self.dispatch("GET", head_only=True)

    def do_POST(self) -> None:  # noqa: N802
        """POST."""
        self.dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        """PUT: no route takes it."""
        self.dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        """DELETE: no route takes it."""
        self.dispatch("DELETE")

    def do_OPTIONS(self) -> None:  # noqa: N802
        """OPTIONS: no route takes it."""
        self.dispatch("OPTIONS")

    def do_PATCH(self) -> None:  # noqa: N802
        """PATCH: no route takes it."""
        self.dispatch("PATCH")

    def dispatch(self, method: str, head_only: bool = False) -> None:
        """Call the route for ``method`` and the path (404 otherwise), then log the request.

        One handler serves every request of a kept-alive connection: the per-request state
        is reset here, and the body is always read so that the next request starts clean.
        """
        started = time.monotonic()
        self.status, self.head_only, self.chunked = 0, head_only, False
        length = _int_or_none(self.headers.get("Content-Length")) or 0
        self.body = self.rfile.read(length) if length > 0 else b""
        path = urlsplit(self.path).path
        self.standin.count_request(self.command, path)
        route = self.routes.get((method, path))
        try:
            if route is None:
                self.send_text(404, "404 page not found")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # a bug in the stand-in: answer 500 when still possible, and say so
            self.close_connection = True
            log("[standin] internal error on %s %s: %r" % (self.command, self.path, error))
            if not self.status:
                self.send_error_json(500, "ollama-standin internal error: %r" % error)
        log("[standin] %s | %3d | %9.3fms | %15s | %-7s %s" % (
            datetime.now().strftime("%Y/%m/%d - %H:%M:%S"), self.status, (time.monotonic() - started) * 1000,
            self.client_address[0], self.command, json.dumps(self.path)))

    # responses

    def send_response(self, code: int, message: Optional[str] = None) -> None:
        """Remember the status for the log line, and mark every response as the stand-in's."""
        self.status = code
        super().send_response(code, message)
        self.send_header(STANDIN_HEADER, "ollama")

    def version_string(self) -> str:
        """The Server header: the stand-in's name and version (no Python version appended)."""
        return self.server_version

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """No per-header log: dispatch() logs one line per request."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        """http.server's own messages (malformed requests) go to stdout too."""
        log("[standin] %s" % (format % args))

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        """A complete response with a Content-Length (no body for HEAD)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self.head_only:
            self.wfile.write(body)

    def send_text(self, status: int, text: str) -> None:
        """A plain-text response."""
        self.send_body(status, text.encode(), "text/plain; charset=utf-8")

    def send_json(self, status: int, data: Any) -> None:
        """A JSON response."""
        self.send_body(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def send_error_json(self, status: int, message: str) -> None:
        """Ollama's ``{"error": ...}``, or OpenAI's error object under ``/v1/``."""
        if self.path.startswith("/v1/"):
            kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
            self.send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})
        else:
            self.send_json(status, {"error": message})

    def start_stream(self, content_type: str) -> None:
        """Headers of a streamed response: chunked for HTTP/1.1 clients, to the close for HTTP/1.0."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.chunked = self.request_version != "HTTP/1.0"
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        """One piece of a streamed response, sent at once."""
        if self.chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()

    def end_stream(self) -> None:
        """The end of a streamed response."""
        if self.chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def stream_ndjson(self, lines: Iterator[Dict[str, Any]]) -> None:
        """Stream one JSON document per line, as Ollama does."""
        self.start_stream("application/x-ndjson")
        for line in lines:
            self.write_chunk(json.dumps(line).encode() + b"\n")
        self.end_stream()

    # requests

    def read_json(self) -> Optional[Dict[str, Any]]:
        """The request's JSON object, or None after answering 400."""
        body = self.body
        if not body.strip():
            self.send_error_json(400, "missing request body")
            return None
        try:
            data = json.loads(body)
        except ValueError as error:
            self.send_error_json(400, "invalid JSON: %s" % error)
            return None
        if not isinstance(data, dict):
            self.send_error_json(400, "the request body must be a JSON object")
            return None
        return data

    def find_model(self, raw: Any) -> Optional[Tuple[ModelName, Dict[str, Any]]]:
        """The pulled model ``raw`` names, or None after answering 400/404."""
        if not raw:
            self.send_error_json(400, "model is required")
            return None
        name = ModelName.parse(raw)
        entry = self.standin.store.entry(name) if name else None
        if name is None or entry is None:
            self.send_error_json(404, "model '%s' not found" % raw)
            return None
        return name, entry

    def request_keep_alive(self, request: Mapping[str, Any]) -> Optional[float]:
        """The request's ``keep_alive`` (else ``OLLAMA_KEEP_ALIVE``), or None after answering 400."""
        if request.get("keep_alive") is None:
            return self.standin.settings.keep_alive
        try:
            return parse_keep_alive(request["keep_alive"])
        except ValueError as error:
            self.send_error_json(400, str(error))
            return None

    def request_context(self, request: Mapping[str, Any]) -> int:
        """``options.num_ctx`` when given, else ``OLLAMA_CONTEXT_LENGTH``."""
        options = request.get("options") if isinstance(request.get("options"), dict) else {}
        return _int_or_none(options.get("num_ctx")) or self.standin.settings.context_length

    # routes: plain

    def route_root(self) -> None:
        """What Ollama answers on ``/``."""
        self.send_text(200, "Ollama is running")

    def route_version(self) -> None:
        """The version, marked as the stand-in's."""
        self.send_json(200, {"version": VERSION})

    def route_tags(self) -> None:
        """The pulled models."""
        self.send_json(200, {"models": self.standin.store.entries()})

    def route_ps(self) -> None:
        """The loaded models."""
        self.send_json(200, {"models": self.standin.running()})

    def route_env(self) -> None:
        """The OLLAMA_* and OMP_NUM_THREADS variables the process was started with."""
        self.send_json(200, received_env(os.environ))

    def route_stats(self) -> None:
        """Counters: requests, pulls, loads, generations, concurrency."""
        self.send_json(200, self.standin.stats())

    def route_v1_models(self) -> None:
        """OpenAI's model list."""
        data = [{"id": entry["name"], "object": "model",
                 "created": int(datetime.fromisoformat(entry["modified_at"]).timestamp()),
                 "owned_by": entry["name"].split("/")[-2] if "/" in entry["name"] else DEFAULT_NAMESPACE}
                for entry in self.standin.store.entries()]
        self.send_json(200, {"object": "list", "data": data})

    # routes: pull

    def route_pull(self) -> None:
        """Pull a model: NDJSON progress (or one ``success`` with stream false); writes its manifest."""
        request = self.read_json()
        if request is None:
            return
        raw = request.get("model") or request.get("name")
        name = ModelName.parse(raw)
        if name is None:
            self.send_error_json(400, "invalid model name")
            return
        stream = request.get("stream") is not False
        if name.display in self.standin.settings.missing or raw in self.standin.settings.missing:
            self.pull_missing(stream)
            return
        events = self.standin.pull_events(name)
        if stream:
            self.stream_ndjson(events)
            return
        list(events)  # the pull runs to its end before the one answer
        self.send_json(200, {"status": "success"})

    def pull_missing(self, stream: bool) -> None:
        """What Ollama answers when the registry has no such model."""
        message = "pull model manifest: file does not exist"
        if stream:
            self.stream_ndjson(iter([{"status": "pulling manifest"}, {"error": message}]))
        else:
            self.send_error_json(500, message)

    # routes: generation

    def route_generate(self) -> None:
        """``/api/generate``: canned words, streamed one per line unless stream is false."""
        self.ollama_generation(chat=False)

    def route_chat(self) -> None:
        """``/api/chat``: the same, as assistant messages."""
        self.ollama_generation(chat=True)

    def ollama_generation(self, chat: bool) -> None:
        """Shared body of ``/api/generate`` and ``/api/chat``."""
        request = self.read_json()
        if request is None:
            return
        found = self.find_model(request.get("model"))
        keep_alive = self.request_keep_alive(request) if found else None
        if found is None or keep_alive is None:
            return
        entry, context = found[1], self.request_context(request)
        prompt = last_user_words(request.get("messages")) if chat else words_of(request.get("prompt"))
        head = {"model": request["model"]}
        if (chat and not request.get("messages")) or (not chat and not prompt):
            reason = self.standin.preload(entry, keep_alive, context)
            empty = {"message": {"role": "assistant", "content": ""}} if chat else {"response": ""}
            self.send_json(200, dict(head, created_at=now_iso(), **empty, done=True, done_reason=reason))
            return
        options = request.get("options") if isinstance(request.get("options"), dict) else {}
        tokens, reason = reply_tokens(prompt, _int_or_none(options.get("num_predict")))

        def piece(token: str) -> Dict[str, Any]:
            body = {"message": {"role": "assistant", "content": token}} if chat else {"response": token}
            return dict(head, created_at=now_iso(), **body, done=False)

        def final(text: str) -> Dict[str, Any]:
            data = dict(piece(text), done_reason=reason, **self.timings(prompt, tokens))
            data["done"] = True
            if not chat:
                data["context"] = list(range(1, len(prompt) + len(tokens) + 1))
            return data

        self.generate(entry, keep_alive, context, tokens, piece, final, request.get("stream") is not False)

    def timings(self, prompt: List[str], tokens: List[str]) -> Dict[str, int]:
        """Ollama's counts and nanosecond durations for a finished generation."""
        eval_ns = int(len(tokens) * self.standin.settings.token_seconds * 1e9)
        return {"total_duration": eval_ns + 2000000, "load_duration": 1000000,
                "prompt_eval_count": max(1, len(prompt)), "prompt_eval_duration": 1000000,
                "eval_count": len(tokens), "eval_duration": eval_ns}

    def generate(self, entry: Dict[str, Any], keep_alive: float, context: int, tokens: List[str],
                 piece: Callable[[str], Dict[str, Any]], final: Callable[[str], Dict[str, Any]], stream: bool) -> None:
        """Run one generation in a slot: stream ``piece`` per token then ``final``, or send ``final`` whole."""
        try:
            self.standin.acquire(entry, keep_alive, context)
        except QueueFull as error:
            self.send_error_json(503, str(error))
            return
        try:
            if stream:
                self.stream_ndjson(self.paced(tokens, piece, final))
            else:
                list(self.paced(tokens, lambda token: {}, lambda text: {}))
                self.send_json(200, final("".join(tokens)))
        finally:
            self.standin.release(entry, keep_alive)

    def paced(self, tokens: List[str], piece: Callable[[str], Dict[str, Any]],
              final: Callable[[str], Dict[str, Any]]) -> Iterator[Dict[str, Any]]:
        """``piece(token)`` for each token, ``STANDIN_TOKEN_SECONDS`` apart, then ``final("")``."""
        for token in tokens:
            time.sleep(self.standin.settings.token_seconds)
            yield piece(token)
        yield final("")

    def route_v1_chat(self) -> None:
        """OpenAI's chat completions: Server-Sent Events per word with stream true, else one object."""
        request = self.read_json()
        if request is None:
            return
        found = self.find_model(request.get("model"))
        if found is None:
            return
        entry, prompt = found[1], last_user_words(request.get("messages"))
        limit = _int_or_none(request.get("max_completion_tokens")) or _int_or_none(request.get("max_tokens"))
        tokens, reason = reply_tokens(prompt, limit)
        base = {"id": "chatcmpl-%d" % (time.time_ns() % 1000000), "created": int(time.time()),
                "model": request["model"], "system_fingerprint": "fp_ollama"}
        usage = {"prompt_tokens": max(1, len(prompt)), "completion_tokens": len(tokens),
                 "total_tokens": max(1, len(prompt)) + len(tokens)}
        try:
            self.standin.acquire(entry, self.standin.settings.keep_alive, self.standin.settings.context_length)
        except QueueFull as error:
            self.send_error_json(503, str(error))
            return
        try:
            if request.get("stream") is True:
                options = request.get("stream_options") if isinstance(request.get("stream_options"), dict) else {}
                self.stream_sse(base, tokens, reason, usage if options.get("include_usage") else None)
            else:
                list(self.paced(tokens, lambda token: {}, lambda text: {}))
                message = {"role": "assistant", "content": "".join(tokens)}
                self.send_json(200, dict(base, object="chat.completion", usage=usage,
                                         choices=[{"index": 0, "message": message, "finish_reason": reason}]))
        finally:
            self.standin.release(entry, self.standin.settings.keep_alive)

    def stream_sse(self, base: Dict[str, Any], tokens: List[str], reason: str,
                   usage: Optional[Dict[str, int]]) -> None:
        """``data: {chat.completion.chunk}`` per token, a last chunk with the finish reason, ``data: [DONE]``."""
        def chunk(content: str, finish: Optional[str]) -> Dict[str, Any]:
            choice = {"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": finish}
            return dict(base, object="chat.completion.chunk", choices=[choice])

        self.start_stream("text/event-stream")
        for event in self.paced(tokens, lambda token: chunk(token, None), lambda text: chunk(text, reason)):
            self.write_chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
        if usage is not None:
            self.write_chunk(b"data: " + json.dumps(dict(base, object="chat.completion.chunk", choices=[],
                                                         usage=usage)).encode() + b"\n\n")
        self.write_chunk(b"data: [DONE]\n\n")
        self.end_stream()


Handler.routes = {
    ("GET", "/"): Handler.route_root,
    ("GET", "/api/version"): Handler.route_version,
    ("GET", "/api/tags"): Handler.route_tags,
    ("GET", "/api/ps"): Handler.route_ps,
    ("POST", "/api/pull"): Handler.route_pull,
    ("POST", "/api/generate"): Handler.route_generate,
    ("POST", "/api/chat"): Handler.route_chat,
    ("GET", "/v1/models"): Handler.route_v1_models,
    ("POST", "/v1/chat/completions"): Handler.route_v1_chat,
    ("GET", "/standin/env"): Handler.route_env,
    ("GET", "/standin/stats"): Handler.route_stats,
}


class StandinServer(ThreadingHTTPServer):
    """A threading HTTP server holding the stand-in's state; IPv6 when the host is an IPv6 address."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, settings: Settings) -> None:
        self.address_family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        self.standin = Standin(settings)
        super().__init__((settings.host, settings.port), Handler)


def serve(env: Mapping[str, str]) -> int:
    """Run the stand-in until SIGTERM or SIGINT; 1 when it cannot listen."""
    settings = Settings.from_env(env)
    log("ollama-standin: a TEST DOUBLE of the Ollama API for frontier.llm's tests; it is NOT Ollama "
        "and runs no model (replies are canned)")
    try:
        server = StandinServer(settings)
    except OSError as error:
        log("Error: listen tcp %s:%d: %s" % (settings.host, settings.port, error))
        return 1
    server.standin.store.prepare()
    log("ollama-standin: server config %s" % json.dumps(received_env(env), sort_keys=True))
    log("ollama-standin: Listening on %s:%d (version %s), models in %s" % (
        settings.host, server.server_address[1], VERSION, settings.models))
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(serve(os.environ))
