"""The ollama-standin test double (tests/images/ollama-standin), over HTTP and through its CLI.

Ollama cannot be had here, so the Molecule scenarios run this stand-in in its place; these
tests hold it to the parts of Ollama's API our roles and checks rely on. Each test runs
server.py in a subprocess on a free loopback port with a temporary OLLAMA_MODELS.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest

STANDIN = Path(__file__).resolve().parents[1] / "images" / "ollama-standin"
PULL_SECONDS = 0.2
TOKEN_SECONDS = 0.01
BASE_ENV = {"OLLAMA_NUM_PARALLEL": "2", "OLLAMA_KEEP_ALIVE": "10m", "OLLAMA_CONTEXT_LENGTH": "8192",
            "OLLAMA_MAX_QUEUE": "64", "OMP_NUM_THREADS": "3", "STANDIN_PULL_SECONDS": str(PULL_SECONDS),
            "STANDIN_TOKEN_SECONDS": str(TOKEN_SECONDS), "STANDIN_MISSING_MODELS": "ghost:1b"}
PROMPT = "why is the sky blue"
REPLY = "standin reply to: why is the sky blue"


def load_server_module() -> ModuleType:
    """server.py as a module (loaded once), for its pure functions."""
    name = "ollama_standin_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, STANDIN / "server.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def free_port() -> int:
    """A loopback port nobody listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(extra: Mapping[str, str]) -> Dict[str, str]:
    """This process's environment without any OLLAMA_*, STANDIN_* or OMP_NUM_THREADS, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OLLAMA_", "STANDIN_")) and key != "OMP_NUM_THREADS"}
    env.update(extra)
    return env


class Response:
    """A finished HTTP exchange: status, headers, body, and when each body line arrived."""

    def __init__(self, status: int, headers: Dict[str, str], lines: List[bytes], arrivals: List[float]) -> None:
        self.status = status
        self.headers = headers
        self.lines = lines
        self.arrivals = arrivals

    @property
    def body(self) -> bytes:
        """The whole body."""
        return b"".join(self.lines)

    def json(self) -> Any:
        """The body as one JSON document."""
        return json.loads(self.body)

    def ndjson(self) -> List[Dict[str, Any]]:
        """The body as one JSON document per line."""
        return [json.loads(line) for line in self.lines if line.strip()]

    def spread(self) -> float:
        """Seconds between the first and the last line's arrival: above zero when streamed."""
        return self.arrivals[-1] - self.arrivals[0] if self.arrivals else 0.0


class Standin:
    """server.py running in a subprocess, and a small HTTP client for it."""

    def __init__(self, models: Path, env: Mapping[str, str], log: Path) -> None:
        self.models = models
        self.port = free_port()
        self.log = log
        self.env = clean_env(dict(env, OLLAMA_HOST="127.0.0.1:%d" % self.port, OLLAMA_MODELS=str(models)))
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "Standin":
        """Start the server and wait until it answers."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, str(STANDIN / "server.py")], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "server.py exited: " + self.log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("server.py did not listen: " + self.log.read_text())

    def stop(self) -> None:
        """Stop it with SIGTERM, as docker stop does; it must exit 0 promptly."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            assert self.process.wait(timeout=10) == 0

    def request(self, method: str, path: str, body: Any = None, raw: Optional[bytes] = None) -> Response:
        """One request on a fresh connection; the body's lines are timed as they arrive."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            lines, arrivals = [], []
            for line in iter(answer.readline, b""):
                lines.append(line)
                arrivals.append(time.monotonic())
            return Response(answer.status, dict(answer.getheaders()), lines, arrivals)
        finally:
            connection.close()

    def get(self, path: str) -> Response:
        """GET."""
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> Response:
        """POST a JSON body."""
        return self.request("POST", path, body)

    def stats(self) -> Dict[str, Any]:
        """/standin/stats."""
        return self.get("/standin/stats").json()

    def tags(self) -> List[str]:
        """Names /api/tags lists."""
        return [model["name"] for model in self.get("/api/tags").json()["models"]]

    def ps(self) -> Dict[str, Dict[str, Any]]:
        """/api/ps by model name."""
        return {model["name"]: model for model in self.get("/api/ps").json()["models"]}

    def pull(self, name: str) -> None:
        """Pull without streaming, and insist on success."""
        answer = self.post("/api/pull", {"model": name, "stream": False})
        assert (answer.status, answer.json()) == (200, {"status": "success"})

    def cli(self, *args: str, port: Optional[int] = None) -> subprocess.CompletedProcess:
        """Run the ``ollama`` shim against this server (or against ``port``)."""
        env = dict(self.env, OLLAMA_HOST="127.0.0.1:%d" % (port or self.port),
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), self.env.get("PATH", "")]))
        return subprocess.run([str(STANDIN / "ollama")] + list(args), env=env, capture_output=True, text=True,
                              timeout=60, check=False)


@pytest.fixture(name="standin", scope="module")
def fixture_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standin]:
    """One server for the tests that can share it (each uses its own model names)."""
    directory = tmp_path_factory.mktemp("standin")
    server = Standin(directory / "models", BASE_ENV, directory / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(name="own_server")
def fixture_own_server(tmp_path: Path) -> Iterator[Any]:
    """A factory of servers with their own settings, all stopped after the test."""
    started: List[Standin] = []

    def start(env: Mapping[str, str], models: Optional[Path] = None) -> Standin:
        server = Standin(models or tmp_path / "models", dict(BASE_ENV, **env), tmp_path / "server.log").start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --- identity and plain endpoints ------------------------------------------------------------

def test_root_answers_like_ollama_and_says_it_is_a_standin(standin: Standin) -> None:
    answer = standin.get("/")
    assert (answer.status, answer.body) == (200, b"Ollama is running")
    assert answer.headers["X-Frontier-Standin"] == "ollama"
    assert answer.headers["Server"].startswith("ollama-standin/")
    head = standin.request("HEAD", "/")
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", "17")
    assert head.headers["X-Frontier-Standin"] == "ollama"


def test_startup_line_says_it_is_a_test_double(standin: Standin) -> None:
    first = standin.log.read_text().splitlines()[0]
    assert "TEST DOUBLE" in first and "NOT Ollama" in first


def test_every_request_is_logged(standin: Standin) -> None:
    standin.get("/api/version?logged=1")
    pattern = re.compile(r"\| 200 \|.*GET +\"/api/version\?logged=1\"")
    # The server writes its log line after the response has gone out: wait for it, boundedly.
    deadline = time.monotonic() + 10
    while not pattern.search(standin.log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pattern.search(standin.log.read_text())


def test_version(standin: Standin) -> None:
    answer = standin.get("/api/version")
    assert (answer.status, answer.json()) == (200, {"version": "0.13.4-standin"})


@pytest.mark.parametrize("method, path", [("GET", "/api/nothing"), ("POST", "/"), ("DELETE", "/api/tags"),
                                          ("GET", "/api/pull"), ("PUT", "/api/generate"), ("GET", "/v1/nothing")])
def test_anything_else_is_404(standin: Standin, method: str, path: str) -> None:
    answer = standin.request(method, path, {"model": "x"} if method != "GET" else None)
    assert answer.status == 404
    assert answer.headers["X-Frontier-Standin"] == "ollama"


def test_one_connection_serves_several_requests(standin: Standin) -> None:
    """HTTP/1.1 keep-alive: a HEAD and a 404 POST with a body leave the connection usable."""
    connection = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=10)
    try:
        exchanges = [("HEAD", "/", None), ("POST", "/nowhere", b'{"a": 1}'), ("GET", "/api/version", None)]
        answers = []
        for method, path, body in exchanges:
            connection.request(method, path, body=body)
            answer = connection.getresponse()
            answers.append((answer.status, answer.read()))
        assert answers == [(200, b""), (404, b"404 page not found"), (200, b'{"version": "0.13.4-standin"}')]
    finally:
        connection.close()


def test_env_shows_what_the_process_received(standin: Standin) -> None:
    env = standin.get("/standin/env").json()
    assert env["OLLAMA_NUM_PARALLEL"] == "2" and env["OLLAMA_KEEP_ALIVE"] == "10m"
    assert env["OLLAMA_CONTEXT_LENGTH"] == "8192" and env["OMP_NUM_THREADS"] == "3"
    assert env["OLLAMA_MODELS"] == str(standin.models)
    assert all(key.startswith("OLLAMA_") or key == "OMP_NUM_THREADS" for key in env)


def test_stats_count_requests(standin: Standin) -> None:
    before = standin.stats()
    for attempt in range(3):  # noqa: B007
        standin.get("/api/version")
    after = standin.stats()
    assert after["requests_by_path"]["GET /api/version"] == before["requests_by_path"].get("GET /api/version", 0) + 3
    assert after["requests"] >= before["requests"] + 4
    assert after["config"]["num_parallel"] == 2 and after["config"]["keep_alive_seconds"] == 600


# --- pull, tags, persistence -----------------------------------------------------------------

def test_pull_streams_progress_then_lists_the_model(standin: Standin) -> None:
    downloads = standin.stats()["downloads"]
    answer = standin.post("/api/pull", {"model": "stream-test:1b"})
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/x-ndjson"
    events = answer.ndjson()
    statuses = [event["status"] for event in events]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    progress = [event for event in events if "digest" in event]
    assert len(progress) >= 4
    first_layer = [event for event in progress if event["digest"] == progress[0]["digest"]]
    assert [event["completed"] for event in first_layer] == sorted(event["completed"] for event in first_layer)
    assert first_layer[0]["completed"] < first_layer[-1]["completed"] == first_layer[-1]["total"] > 0
    assert progress[0]["status"] == "pulling " + progress[0]["digest"][len("sha256:"):][:12]
    assert answer.spread() >= PULL_SECONDS / 2, "progress lines must arrive while the pull goes on"

    models = {model["name"]: model for model in standin.get("/api/tags").json()["models"]}
    model = models["stream-test:1b"]
    assert model["model"] == "stream-test:1b" and model["size"] > 10 ** 8
    assert re.fullmatch(r"[0-9a-f]{64}", model["digest"])
    assert datetime.fromisoformat(model["modified_at"]).timestamp() == pytest.approx(time.time(), abs=60)
    assert model["details"]["parameter_size"] == "1B" and model["details"]["format"] == "gguf"
    assert (standin.models / "manifests/registry.ollama.ai/library/stream-test/1b").is_file()
    stats = standin.stats()
    assert stats["pulls_by_model"]["stream-test:1b"] == 1 and stats["downloads"] == downloads + 1


def test_pull_without_stream_answers_once(standin: Standin) -> None:
    answer = standin.post("/api/pull", {"name": "quiet-test:1b", "stream": False})
    assert answer.status == 200
    assert [json.loads(line) for line in answer.lines] == [{"status": "success"}]
    assert "quiet-test:1b" in standin.tags()


def test_pull_of_a_present_model_is_counted_but_downloads_nothing(standin: Standin) -> None:
    standin.pull("again-test:1b")
    downloads = standin.stats()["downloads"]
    standin.pull("again-test:1b")
    stats = standin.stats()
    assert stats["pulls_by_model"]["again-test:1b"] == 2 and stats["downloads"] == downloads


@pytest.mark.parametrize("name", ["Bad Name", "a/b/c/d", ":latest", "-dash", "model:", ""])
def test_pull_of_an_invalid_name_is_400(standin: Standin, name: str) -> None:
    answer = standin.post("/api/pull", {"model": name})
    assert answer.status == 400 and "error" in answer.json()


def test_pull_of_a_model_the_registry_lacks_fails_as_ollama_does(standin: Standin) -> None:
    streamed = standin.post("/api/pull", {"model": "ghost:1b"}).ndjson()
    assert streamed[-1] == {"error": "pull model manifest: file does not exist"}
    whole = standin.post("/api/pull", {"model": "ghost:1b", "stream": False})
    assert whole.status == 500 and "does not exist" in whole.json()["error"]
    assert "ghost:1b" not in standin.tags()


def test_pulled_models_persist_across_a_restart(own_server: Any, tmp_path: Path) -> None:
    first = own_server({"STANDIN_PULL_SECONDS": "0"}, models=tmp_path / "volume")
    first.pull("persist-test:1b")
    first.pull("user/other:q8_0")
    first.stop()
    second = own_server({}, models=tmp_path / "volume")
    assert sorted(second.tags()) == ["persist-test:1b", "user/other:q8_0"]
    assert second.stats()["pulls"] == 0
    answer = second.post("/api/generate", {"model": "persist-test:1b", "prompt": "hi", "stream": False})
    assert answer.status == 200


# --- generation ------------------------------------------------------------------------------

@pytest.mark.parametrize("path, body", [
    ("/api/generate", {"model": "absent:1b", "prompt": "hi"}),
    ("/api/generate", {"model": "absent:1b"}),
    ("/api/chat", {"model": "absent:1b", "messages": [{"role": "user", "content": "hi"}]}),
])
def test_generation_with_a_missing_model_is_404(standin: Standin, path: str, body: Dict[str, Any]) -> None:
    answer = standin.post(path, body)
    assert (answer.status, answer.json()) == (404, {"error": "model 'absent:1b' not found"})


def test_openai_with_a_missing_model_is_404(standin: Standin) -> None:
    answer = standin.post("/v1/chat/completions", {"model": "absent:1b", "messages": [{"role": "user", "content": "x"}]})
    assert answer.status == 404
    assert answer.json()["error"]["message"] == "model 'absent:1b' not found"


def test_generate_streams_one_word_per_line(standin: Standin) -> None:
    standin.pull("gen-test:1b")
    answer = standin.post("/api/generate", {"model": "gen-test:1b", "prompt": PROMPT})
    chunks = answer.ndjson()
    assert len(chunks) >= 5
    assert all(chunk["done"] is False and chunk["model"] == "gen-test:1b" for chunk in chunks[:-1])
    assert "".join(chunk["response"] for chunk in chunks) == REPLY
    last = chunks[-1]
    assert (last["done"], last["done_reason"], last["eval_count"]) == (True, "stop", len(chunks) - 1)
    assert last["prompt_eval_count"] == 5 and last["eval_duration"] > 0
    assert answer.spread() >= (len(chunks) - 2) * TOKEN_SECONDS / 2, "words must arrive one by one"


def test_generate_without_stream_answers_once(standin: Standin) -> None:
    standin.pull("gen-test:1b")
    answer = standin.post("/api/generate", {"model": "gen-test:1b", "prompt": PROMPT, "stream": False,
                                            "options": {"num_predict": 3}})
    assert len(answer.lines) == 1
    data = answer.json()
    assert (data["response"], data["done"], data["done_reason"], data["eval_count"]) == \
        ("standin reply to:", True, "length", 3)


def test_chat_streams_and_answers_once(standin: Standin) -> None:
    standin.pull("chat-test:1b")
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": PROMPT}]
    chunks = standin.post("/api/chat", {"model": "chat-test:1b", "messages": messages}).ndjson()
    assert len(chunks) >= 5 and chunks[-1]["done"] is True and chunks[-1]["done_reason"] == "stop"
    assert all(chunk["message"]["role"] == "assistant" for chunk in chunks)
    assert "".join(chunk["message"]["content"] for chunk in chunks) == REPLY
    whole = standin.post("/api/chat", {"model": "chat-test:1b", "messages": messages, "stream": False})
    assert len(whole.lines) == 1 and whole.json()["message"]["content"] == REPLY


def test_an_empty_request_only_loads_the_model_and_keep_alive_0_unloads_it(standin: Standin) -> None:
    standin.pull("preload-test:1b")
    loaded = standin.post("/api/generate", {"model": "preload-test:1b"})
    assert loaded.json()["done_reason"] == "load" and loaded.json()["response"] == ""
    assert "preload-test:1b" in standin.ps()
    assert standin.stats()["loads_by_model"]["preload-test:1b"] == 1
    chat = standin.post("/api/chat", {"model": "preload-test:1b", "messages": []})
    assert chat.json()["done_reason"] == "load"
    assert standin.stats()["loads_by_model"]["preload-test:1b"] == 1, "an already loaded model is not loaded again"
    unloaded = standin.post("/api/generate", {"model": "preload-test:1b", "keep_alive": 0})
    assert unloaded.json()["done_reason"] == "unload"
    assert "preload-test:1b" not in standin.ps()


def test_ps_lists_the_model_after_generate_and_not_after_keep_alive_0(standin: Standin) -> None:
    standin.pull("ps-test:1b")
    assert "ps-test:1b" not in standin.ps()
    standin.post("/api/generate", {"model": "ps-test:1b", "prompt": "hi", "stream": False})
    model = standin.ps()["ps-test:1b"]
    assert (model["size_vram"], model["context_length"]) == (0, 8192)
    assert model["size"] > 0 and model["digest"] and model["details"]["family"] == "ps"
    left = datetime.fromisoformat(model["expires_at"]).timestamp() - time.time()
    assert 540 < left <= 600, "OLLAMA_KEEP_ALIVE=10m"
    standin.post("/api/generate", {"model": "ps-test:1b", "prompt": "hi", "stream": False, "keep_alive": "30s",
                                   "options": {"num_ctx": 2048}})
    model = standin.ps()["ps-test:1b"]
    assert model["context_length"] == 2048
    assert 20 < datetime.fromisoformat(model["expires_at"]).timestamp() - time.time() <= 30
    standin.post("/api/generate", {"model": "ps-test:1b", "prompt": "hi", "stream": False, "keep_alive": 0})
    assert "ps-test:1b" not in standin.ps()


def test_keep_alive_from_the_environment_expires(own_server: Any) -> None:
    server = own_server({"OLLAMA_KEEP_ALIVE": "500ms", "STANDIN_PULL_SECONDS": "0"})
    server.pull("expire-test:1b")
    server.pull("forever-test:1b")
    server.post("/api/generate", {"model": "expire-test:1b", "prompt": "hi", "stream": False})
    server.post("/api/generate", {"model": "forever-test:1b", "prompt": "hi", "stream": False, "keep_alive": -1})
    assert set(server.ps()) == {"expire-test:1b", "forever-test:1b"}
    time.sleep(0.8)
    running = server.ps()
    assert list(running) == ["forever-test:1b"]
    assert datetime.fromisoformat(running["forever-test:1b"]["expires_at"]).year > 2200


def test_a_malformed_keep_alive_is_400(standin: Standin) -> None:
    standin.pull("gen-test:1b")
    answer = standin.post("/api/generate", {"model": "gen-test:1b", "prompt": "hi", "keep_alive": "soon"})
    assert answer.status == 400 and "error" in answer.json()


@pytest.mark.parametrize("raw, error", [(b"", "missing request body"), (b"{not json", "invalid JSON"),
                                        (b"[1]", "JSON object")])
def test_a_malformed_body_is_400(standin: Standin, raw: bytes, error: str) -> None:
    answer = standin.request("POST", "/api/generate", raw=raw)
    assert answer.status == 400 and error in answer.json()["error"]


# --- OpenAI compatibility ----------------------------------------------------------------------

def test_openai_models(standin: Standin) -> None:
    standin.pull("oa-test:1b")
    data = standin.get("/v1/models").json()
    assert data["object"] == "list"
    model = {entry["id"]: entry for entry in data["data"]}["oa-test:1b"]
    assert (model["object"], model["owned_by"]) == ("model", "library") and model["created"] > 0


def test_openai_chat_streams_server_sent_events(standin: Standin) -> None:
    standin.pull("oa-test:1b")
    answer = standin.post("/v1/chat/completions", {"model": "oa-test:1b", "stream": True,
                                                   "messages": [{"role": "user", "content": PROMPT}]})
    assert answer.status == 200 and answer.headers["Content-Type"] == "text/event-stream"
    data = [line.decode().strip()[len("data: "):] for line in answer.lines if line.startswith(b"data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert len(chunks) >= 5
    assert all(chunk["object"] == "chat.completion.chunk" and chunk["model"] == "oa-test:1b" for chunk in chunks)
    assert "".join(chunk["choices"][0]["delta"]["content"] for chunk in chunks) == REPLY
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks][-2:] == [None, "stop"]
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert answer.spread() > 0


def test_openai_chat_without_stream(standin: Standin) -> None:
    standin.pull("oa-test:1b")
    answer = standin.post("/v1/chat/completions", {"model": "oa-test:1b",
                                                   "messages": [{"role": "user", "content": PROMPT}]})
    data = answer.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": REPLY}
    assert data["choices"][0]["finish_reason"] == "stop"
    usage = data["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (5, 8)
    assert usage["total_tokens"] == 13


# --- bounds ---------------------------------------------------------------------------------------

def _generate_in_threads(server: Standin, model: str, count: int) -> List[int]:
    """Run ``count`` generations at once; their statuses."""
    statuses: List[int] = []

    def one() -> None:
        statuses.append(server.post("/api/generate", {"model": model, "prompt": PROMPT, "stream": False}).status)

    threads = [threading.Thread(target=one) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def test_num_parallel_bounds_concurrent_generations(own_server: Any) -> None:
    server = own_server({"OLLAMA_NUM_PARALLEL": "2", "STANDIN_TOKEN_SECONDS": "0.04", "STANDIN_PULL_SECONDS": "0"})
    server.pull("par-test:1b")
    assert _generate_in_threads(server, "par-test:1b", 4) == [200] * 4
    stats = server.stats()
    assert (stats["peak_active"], stats["generations"], stats["active"], stats["queued"]) == (2, 4, 0, 0)


def _wait_for(server: Standin, key: str, value: int) -> None:
    """Wait until /standin/stats shows ``key`` at ``value``."""
    deadline = time.monotonic() + 10
    while server.stats()[key] != value:
        assert time.monotonic() < deadline, "%s never reached %d" % (key, value)
        time.sleep(0.02)


def test_a_full_queue_is_503(own_server: Any) -> None:
    server = own_server({"OLLAMA_NUM_PARALLEL": "1", "OLLAMA_MAX_QUEUE": "1", "STANDIN_TOKEN_SECONDS": "0.1",
                         "STANDIN_PULL_SECONDS": "0"})
    server.pull("queue-test:1b")
    results: List[Tuple[int, Any]] = []

    def one() -> None:
        answer = server.post("/api/generate", {"model": "queue-test:1b", "prompt": "a", "stream": False})
        results.append((answer.status, answer.json()))

    first = threading.Thread(target=one)
    first.start()
    _wait_for(server, "active", 1)
    second = threading.Thread(target=one)
    second.start()
    _wait_for(server, "queued", 1)
    rejected = server.post("/api/generate", {"model": "queue-test:1b", "prompt": "a", "stream": False})
    assert rejected.status == 503 and "server busy" in rejected.json()["error"]
    first.join(30)
    second.join(30)
    assert [result[0] for result in results] == [200, 200]
    assert server.stats()["rejected"] == 1


# --- the ollama CLI shim ----------------------------------------------------------------------------

def test_cli_list_exits_0_against_a_live_server(standin: Standin) -> None:
    standin.pull("cli-test:1b")
    done = standin.cli("list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    assert any(line.split()[0] == "cli-test:1b" for line in lines[1:])


def test_cli_list_fails_against_a_closed_port(standin: Standin) -> None:
    done = standin.cli("list", port=free_port())
    assert done.returncode != 0
    assert "could not connect" in done.stderr


def test_cli_pull_streams_progress(standin: Standin) -> None:
    done = standin.cli("pull", "cli-pull:1b")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "pulling manifest" and lines[-1] == "success"
    assert len([line for line in lines if re.match(r"pulling [0-9a-f]{12}: +\d+%", line)]) >= 4
    assert "cli-pull:1b" in standin.tags()
    bad = standin.cli("pull", "Bad Name")
    assert bad.returncode == 1 and "invalid model name" in bad.stderr
    lacking = standin.cli("pull", "ghost:1b")
    assert lacking.returncode == 1 and "Error: pull model manifest: file does not exist" in lacking.stderr


def test_cli_ps_and_version(standin: Standin) -> None:
    standin.pull("cli-ps:1b")
    standin.post("/api/generate", {"model": "cli-ps:1b", "prompt": "hi", "stream": False})
    done = standin.cli("ps")
    assert done.returncode == 0
    assert done.stdout.splitlines()[0].split() == ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    assert any(line.startswith("cli-ps:1b ") and " 8192 " in line for line in done.stdout.splitlines())
    version = standin.cli("--version")
    assert (version.returncode, version.stdout.strip()) == (0, "ollama version is 0.13.4-standin")
    unknown = standin.cli("run", "cli-ps:1b")
    assert unknown.returncode == 1 and "test double" in unknown.stderr


# --- parsing, without a server ----------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [("5m", 300), ("30s", 30), ("1h", 3600), ("1h30m", 5400), ("1.5s", 1.5),
                                           ("500ms", 0.5), ("0", 0), ("-1m", -60), ("300", 300), ("-1", -1)])
def test_keep_alive_parsing(text: str, seconds: float) -> None:
    assert load_server_module().parse_keep_alive(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text, seconds", [("0", 0), ("-0", 0), ("1h2m3s", 3723), ("-1.5h", -5400), ("2us", 2e-6),
                                           ("+.5m", 30)])
def test_go_durations(text: str, seconds: float) -> None:
    assert load_server_module().parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "5", "m5", "1x", "", "5m3", "-", "1h 2m"])
def test_go_durations_that_go_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        load_server_module().parse_go_duration(text)


@pytest.mark.parametrize("value, expected", [
    (None, ("http", "127.0.0.1", 11434)), ("0.0.0.0", ("http", "0.0.0.0", 11434)),
    ("0.0.0.0:11434", ("http", "0.0.0.0", 11434)), (":8080", ("http", "", 8080)),
    ("http://example:1234", ("http", "example", 1234)), ("https://example", ("https", "example", 443)),
    ("[::1]:9999", ("http", "::1", 9999)), ("::", ("http", "::", 11434)), ("host:notaport", ("http", "host", 11434)),
])
def test_ollama_host_parsing(value: Optional[str], expected: Tuple[str, str, int]) -> None:
    assert load_server_module().parse_host(value) == expected


@pytest.mark.parametrize("raw, display, path", [
    ("llama3.2", "llama3.2:latest", "registry.ollama.ai/library/llama3.2/latest"),
    ("qwen2.5:0.5b", "qwen2.5:0.5b", "registry.ollama.ai/library/qwen2.5/0.5b"),
    ("user/model:tag", "user/model:tag", "registry.ollama.ai/user/model/tag"),
    ("example.com:5000/ns/model:v1", "example.com:5000/ns/model:v1", "example.com:5000/ns/model/v1"),
])
def test_model_names(raw: str, display: str, path: str) -> None:
    name = load_server_module().ModelName.parse(raw)
    assert name.display == display
    assert name.manifest_path(Path("/m")) == Path("/m/manifests") / path


# --- the image recipe ---------------------------------------------------------------------------------

def test_dockerfile_builds_offline_from_the_local_base() -> None:
    text = (STANDIN / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=frontier-llm/systemd:debian13" in text and "FROM ${BASE_IMAGE}" in text
    assert 'ENTRYPOINT ["/usr/local/bin/ollama"]' in text and 'CMD ["serve"]' in text
    assert "OLLAMA_HOST=0.0.0.0:11434" in text and "EXPOSE 11434" in text
    assert "org.frontier-llm.standin=ollama" in text
    assert not re.search(r"apt-get|apt |pip|curl|wget|ADD ", text), "the build must need no network"
    assert os.access(STANDIN / "ollama", os.X_OK)
