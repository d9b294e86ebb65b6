"""mistralrs-pyserver's own parts: its reading of the TOML the stack writes, and its HTTP framing.

The inference is mistral.rs's (the stack_engines scenario serves SmolLM2 with the real engine);
here the engine is replaced by a few canned response objects shaped like mistralrs's, so the
HTTP API, the server-sent events and the refusals are checked without the 26 MB wheel.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, Dict, Iterator, List

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan
from ansible_collections.frontier.llm.plugins.module_utils.stack import mistralrs_config
from test_planner import linux
from test_stack import MISTRAL_FILES, SMOLLM2

SERVER = Path(__file__).resolve().parents[2] / "roles" / "images" / "files" / "mistralrs-pyserver" / "mistralrs_pyserver.py"


@pytest.fixture(scope="module")
def server() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mistralrs_pyserver", SERVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plan() -> Dict[str, Any]:
    return resource_plan(linux(16), models=[SMOLLM2, dict(SMOLLM2, name="smollm2-b")], engine="mistralrs",
                         ctx=3000, parallel=3)


def test_reads_the_file_the_stack_writes(server: ModuleType) -> None:
    config = server.read_config(mistralrs_config(plan(), MISTRAL_FILES))
    assert (config["host"], config["port"], config["max_seqs"]) == ("0.0.0.0", 1234, 3)
    assert config["default_model_id"] == "smollm2:135m"
    assert config["models"] == [
        {"model_id": "smollm2:135m", "quantized_file": "SmolLM2.gguf", "tok_model_id": None, "max_seq_len": 3000,
         "max_batch_size": 3},
        {"model_id": "smollm2-b", "quantized_file": "other.gguf", "tok_model_id": None, "max_seq_len": 3000,
         "max_batch_size": 3}]


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace('mode = "off"', 'mode = "auto"'), "paged_attn"),
    (lambda text: text.replace("[runtime]", "[runtime]\nenable_search = true"), "enable_search not supported"),
    (lambda text: text.replace('command = "serve"', 'command = "run"'), "only serves"),
    (lambda text: text.replace('format = "gguf"', 'format = "plain"'), "GGUF"),
    (lambda text: text.replace('model_id = "smollm2-b"', 'model_id = "smollm2:135m"'), "appears twice"),
    (lambda text: text.replace('default_model_id = "smollm2:135m"', 'default_model_id = "nope"'), "default_model_id"),
])
def test_refuses_what_it_would_not_honour(server: ModuleType, edit: Any, message: str) -> None:
    with pytest.raises(server.ConfigError, match=message):
        server.read_config(edit(mistralrs_config(plan(), MISTRAL_FILES)))


def test_request_arguments(server: ModuleType) -> None:
    body = {"model": "a", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "temperature": 0,
            "stop": "\n", "stream": True, "user": "ignored", "n": 2}
    assert server.request_arguments(body, ["a"], "a", chat=True) == {
        "model": "a", "messages": body["messages"], "max_tokens": 5, "temperature": 0, "stop_seqs": ["\n"],
        "stream": True, "n_choices": 2}
    assert server.request_arguments({"prompt": ["once"]}, ["a"], "a", chat=False) == {"model": "a", "prompt": "once"}
    with pytest.raises(LookupError, match="'b' is not served"):
        server.request_arguments({"model": "b", "messages": [{}]}, ["a"], "a", chat=True)
    with pytest.raises(ValueError, match="messages"):
        server.request_arguments({"messages": []}, ["a"], "a", chat=True)


def _usage() -> SimpleNamespace:
    return SimpleNamespace(prompt_tokens=3, completion_tokens=2, total_tokens=5)


class CannedEngine:
    """Replies shaped like mistralrs's response objects."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.ready = threading.Event()
        self.ready.set()
        self.error = None

    def chat(self, args: Dict[str, Any]) -> Any:
        if args["stream"]:
            return iter(SimpleNamespace(id="1", created=0, model=args["model"], usage=None, choices=[SimpleNamespace(
                index=0, finish_reason=None, delta=SimpleNamespace(role="assistant", content=word))])
                for word in ("Par", "is", "."))
        return SimpleNamespace(id="1", created=0, model=args["model"], usage=_usage(), choices=[SimpleNamespace(
            index=0, finish_reason="stop", message=SimpleNamespace(role="assistant", content="Paris."))])

    def complete(self, args: Dict[str, Any]) -> Any:
        return SimpleNamespace(id="2", created=0, model=args["model"], usage=_usage(),
                               choices=[SimpleNamespace(index=0, text=" upon", finish_reason="length")])


@pytest.fixture()
def api(server: ModuleType) -> Iterator[Any]:
    config = server.read_config(mistralrs_config(plan(), MISTRAL_FILES))
    server.Handler.engine = CannedEngine(config)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), server.Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def request(method: str, path: str, body: Any = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1], timeout=10)
        conn.request(method, path, body=None if body is None else json.dumps(body))
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode()

    yield request
    httpd.shutdown()


def test_health_and_models(api: Any, server: ModuleType) -> None:
    assert api("GET", "/health")[0] == 200
    server.Handler.engine.ready.clear()
    assert api("GET", "/health")[0] == 503
    assert api("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})[0] == 503
    server.Handler.engine.ready.set()
    status, _kind, body = api("GET", "/v1/models")
    assert status == 200 and [m["id"] for m in json.loads(body)["data"]] == ["smollm2:135m", "smollm2-b"]


def test_chat_completion_and_stream(api: Any) -> None:
    messages = [{"role": "user", "content": "Capital of France?"}]
    status, kind, body = api("POST", "/v1/chat/completions", {"model": "smollm2-b", "messages": messages})
    answer = json.loads(body)
    assert (status, kind) == (200, "application/json")
    assert answer["object"] == "chat.completion" and answer["model"] == "smollm2-b"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Paris."}
    assert answer["usage"]["completion_tokens"] == 2
    status, kind, body = api("POST", "/v1/chat/completions", {"messages": messages, "stream": True})
    events: List[str] = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert (status, kind) == (200, "text/event-stream") and events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ["Par", "is", "."]
    assert {c["model"] for c in chunks} == {"smollm2:135m"} and {c["object"] for c in chunks} == {"chat.completion.chunk"}


def test_text_completion_and_errors(api: Any) -> None:
    status, _kind, body = api("POST", "/v1/completions", {"prompt": "Once", "max_tokens": 1})
    assert status == 200 and json.loads(body)["choices"][0]["text"] == " upon"
    status, kind, body = api("POST", "/v1/completions", {"prompt": "Once", "max_tokens": 1, "stream": True})
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert (status, kind) == (200, "text/event-stream") and events[-1] == "[DONE]"
    assert [json.loads(event)["choices"][0]["text"] for event in events[:-1]] == [" upon"]
    status, _kind, body = api("POST", "/v1/chat/completions", {"model": "nope", "messages": [{"role": "user"}]})
    assert status == 404 and "not served" in json.loads(body)["error"]["message"]
    assert api("POST", "/v1/chat/completions", {"messages": "no"})[0] == 400
    assert api("POST", "/v1/embeddings", {})[0] == 404
