"""Verify the stack on a Docker-in-Docker host: limits from the plan, one TLS entry point, keys."""

from __future__ import annotations

import json
import re

import pytest

testinfra_hosts = ["ansible://all"]

ROOT = "/opt/frontier-llm"
MIB = 1024 * 1024
GATEWAY = "https://127.0.0.1"
CA = "--cacert %s/nginx/tls/cert.pem" % ROOT


def plan(host) -> dict:
    return json.loads(host.file(ROOT + "/plan.json").content_string)


def keys(host) -> dict:
    return json.loads(host.check_output("cat %s/secrets/api_keys.json" % ROOT))


def inspect(host, service: str) -> dict:
    name = host.check_output("docker compose -p frontier-llm ps -q %s" % service)
    return json.loads(host.check_output("docker inspect %s" % name))[0]


def curl(host, path: str, key: str | None = None, extra: str = "") -> tuple[int, str]:
    """(HTTP status, body) of a request through Nginx, the certificate verified."""
    auth = "-H 'Authorization: Bearer %s'" % key if key else ""
    out = host.run("curl -sS %s %s %s -w '\\n%%{http_code}' '%s%s'" % (CA, auth, extra, GATEWAY, path))
    assert out.rc == 0, out.stderr
    body, _newline, status = out.stdout.rpartition("\n")
    return int(status), body


@pytest.mark.parametrize("service", ["ollama", "nginx"])
def test_limits_are_the_plans(host, service: str) -> None:
    wanted = plan(host)["components"][service]
    config = inspect(host, service)["HostConfig"]
    assert config["Memory"] == wanted["mem_limit_mb"] * MIB
    assert config["MemoryReservation"] == wanted["mem_reservation_mb"] * MIB
    assert config["NanoCpus"] == int(wanted["cpus"] * 1e9)


def test_engine_environment_is_the_plans(host) -> None:
    env = dict(item.split("=", 1) for item in inspect(host, "ollama")["Config"]["Env"])
    for key, value in plan(host)["env"].items():
        assert env.get(key) == value, key
    # ... and the engine process really reads it (the stand-in reports what it received).
    seen = json.loads(host.check_output(
        "docker compose -p frontier-llm exec -T ollama python3 -c "
        "\"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:11434/standin/env').read().decode())\""))
    assert seen["OLLAMA_CONTEXT_LENGTH"] == plan(host)["env"]["OLLAMA_CONTEXT_LENGTH"]
    assert seen["OLLAMA_NUM_PARALLEL"] == plan(host)["env"]["OLLAMA_NUM_PARALLEL"]


def test_only_nginx_listens_beyond_loopback(host) -> None:
    sockets = host.check_output("ss -Hltn").splitlines()
    exposed = []
    for line in sockets:
        local = line.split()[3]
        address, _colon, port = local.rpartition(":")
        if not (address.startswith("127.") or address in ("[::1]",)):
            exposed.append((address, port))
    assert exposed, "nothing listens at all: the gateway is missing"
    assert {port for _address, port in exposed} <= {"443", "80"}, exposed


def test_files_with_secrets_are_private(host) -> None:
    for path in ("engine.env", "secrets/api_keys.json", "nginx/keys.map", "nginx/tls/key.pem"):
        item = host.file("%s/%s" % (ROOT, path))
        assert item.exists, path
        assert item.mode == 0o600 and item.user == "root", path


def test_no_key_gets_401_and_healthz_needs_none(host) -> None:
    assert curl(host, "/api/tags")[0] == 401
    assert curl(host, "/v1/models")[0] == 401
    assert curl(host, "/healthz")[0] == 200


def test_unknown_and_removed_keys_get_401(host) -> None:
    # mallory's key was made in prepare and revoked by the converge before Nginx ever ran; the
    # retirement of a key Nginx was serving is checked by the rotation in side_effect.yml.
    assert curl(host, "/api/tags", key="flm_" + "x" * 43)[0] == 401
    revoked = host.check_output("cat /root/mallory.key")
    assert revoked and "mallory" not in keys(host)
    assert curl(host, "/api/tags", key=revoked)[0] == 401


def test_a_valid_key_reaches_the_engine(host) -> None:
    status, body = curl(host, "/api/tags", key=keys(host)["alice"]["key"])
    assert status == 200
    assert "smollm2:135m" in [model["name"] for model in json.loads(body)["models"]]


@pytest.mark.parametrize("method, path", [("POST", "/api/pull"), ("DELETE", "/api/delete"), ("POST", "/api/create"),
                                          ("POST", "/api/copy"), ("POST", "/api/push")])
def test_model_management_needs_the_operator_key(host, method: str, path: str) -> None:
    status, body = curl(host, path, key=keys(host)["alice"]["key"],
                        extra="-X %s -d '{\"model\": \"smollm2:135m\"}'" % method)
    assert status == 403 and "operator key" in body
    assert curl(host, path, extra="-X %s" % method)[0] == 401


@pytest.mark.parametrize("method, path", [("POST", "/api/signout"), ("POST", "/api/me"), ("GET", "/"),
                                          ("POST", "/api/experimental/web_search")])
def test_routes_on_no_allowlist_are_404_for_every_key(host, method: str, path: str) -> None:
    for name in ("alice", "frontier-ops"):
        status, body = curl(host, path, key=keys(host)[name]["key"], extra="-X %s -d '{}'" % method)
        assert status == 404 and "not an API this gateway serves" in body, (name, status, body)


def test_a_user_cannot_resize_or_evict_the_model(host) -> None:
    """num_ctx above the plan is refused before the engine; keep_alive 0 (evict for everyone) becomes the plan's."""
    alice = keys(host)["alice"]["key"]
    huge = json.dumps({"model": "smollm2:135m", "prompt": "hi", "stream": False, "options": {"num_ctx": 131072}})
    status, body = curl(host, "/api/generate", key=alice, extra="-H 'Content-Type: application/json' -d '%s'" % huge)
    assert status == 400 and "options.num_ctx" in body and str(plan(host)["models"][0]["ctx"]) in body, body
    evict = json.dumps({"model": "smollm2:135m", "prompt": "", "keep_alive": 0})
    assert curl(host, "/api/generate", key=alice, extra="-H 'Content-Type: application/json' -d '%s'" % evict)[0] == 200
    status, body = curl(host, "/api/ps", key=alice)
    assert status == 200 and "smollm2:135m" in body, "the user's keep_alive 0 evicted the model: %s" % body


def test_the_key_name_is_logged_never_the_key(host) -> None:
    key = keys(host)["bob"]["key"]
    assert curl(host, "/api/version", key=key)[0] == 200
    logs = host.check_output("docker compose -p frontier-llm logs nginx 2>&1")
    assert "key=bob" in logs
    assert key not in logs


def test_streaming_passes_through_in_chunks(host) -> None:
    body = json.dumps({"model": "smollm2:135m", "stream": True, "messages": [{"role": "user", "content": "hello there"}]})
    status, out = curl(host, "/v1/chat/completions", key=keys(host)["alice"]["key"],
                       extra="-N -H 'Content-Type: application/json' -d '%s'" % body)
    assert status == 200
    chunks = [line for line in out.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]
    assert len(chunks) >= 3 and out.rstrip().endswith("data: [DONE]")


def test_streaming_is_not_buffered(host) -> None:
    # The engine sends a word every 0.25 s (STANDIN_TOKEN_SECONDS in the scenario), for several
    # seconds in all. Cut off after 2 s, an unbuffered gateway has passed the first words on; a
    # buffering one (or one compressing the stream, which clients ask for) would still hold them.
    body = json.dumps({"model": "smollm2:135m", "stream": True,
                       "messages": [{"role": "user", "content": " ".join(["word"] * 40)}]})
    out = host.run("curl -sS %s -N --compressed --max-time 2 -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' "
                   "-d '%s' %s/v1/chat/completions" % (CA, keys(host)["alice"]["key"], body, GATEWAY))
    assert out.rc == 28, "the whole answer came within 2 s: the check proves nothing (%s)" % out.stderr
    assert len([line for line in out.stdout.splitlines() if line.startswith("data: ")]) >= 2, out.stdout


def test_tls_is_modern_and_plain_http_only_redirects(host) -> None:
    # The client offers TLS 1.0/1.1 at OpenSSL security level 0, so only the server can refuse.
    for old in ("-tls1", "-tls1_1"):
        hello = host.run("openssl s_client -connect 127.0.0.1:443 %s -cipher 'DEFAULT:@SECLEVEL=0' </dev/null" % old)
        assert "Cipher is (NONE)" in hello.stdout and hello.rc != 0, old
    assert host.run("curl -sS %s --tlsv1.3 -o /dev/null %s/healthz" % (CA, GATEWAY)).rc == 0
    out = host.check_output("curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1/some/page")
    assert re.match(r"^301 https://127\.0\.0\.1/some/page$", out), out
    # An API call in clear text is refused, not redirected, and never reaches the engine.
    out = host.check_output("curl -sS -w ' %%{http_code}' -H 'Authorization: Bearer %s' http://127.0.0.1/api/tags"
                            % keys(host)["alice"]["key"])
    assert out.endswith(" 403") and "clear text" in out and "models" not in out, out


def test_model_pulled_once_and_loaded(host) -> None:
    stats = json.loads(host.check_output(
        "docker compose -p frontier-llm exec -T ollama python3 -c "
        "\"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:11434/standin/stats').read().decode())\""))
    # converge pulled it, the idempotence run found it and pulled nothing.
    assert stats["pulls"] == 1, stats
    status, body = curl(host, "/api/ps", key=keys(host)["alice"]["key"])
    assert status == 200 and "smollm2:135m" in body


def test_rate_limit_is_per_key(host) -> None:
    # stack_rate_limit 10r/s with a burst of 20: bob sends 60 requests at once and is cut off,
    # while alice's 10 at the same moment all pass - her key has a budget of its own.
    flood = "for i in $(seq %d); do curl -s -o /dev/null -w '%s %%{http_code}\\n' %s -H 'Authorization: Bearer %s' %s/api/version & done"
    out = host.check_output("{ %s; %s; wait; }" % (flood % (60, "bob", CA, keys(host)["bob"]["key"], GATEWAY),
                                                   flood % (10, "alice", CA, keys(host)["alice"]["key"], GATEWAY)))
    bob = [line.split()[1] for line in out.splitlines() if line.startswith("bob ")]
    alice = [line.split()[1] for line in out.splitlines() if line.startswith("alice ")]
    # The first 12 at once pass both limits (stack_conn_limit 12, within the burst); the rest may meet either.
    assert len(bob) == 60 and bob.count("429") > 0 and bob.count("200") >= 12, sorted(set(bob))
    assert alice == ["200"] * 10, alice


def test_open_requests_are_limited_per_key(host) -> None:
    # carol opens 14 streams at once, each about 10 s long (40 words, 0.25 s apart); with stack_conn_limit 12
    # exactly 2 are refused at once with 429, while the others stream (cut off after 4 s: 200, or 000 while the
    # engine still queues them). alice, at the same time, has connections of her own.
    body = json.dumps({"model": "smollm2:135m", "stream": True,
                       "messages": [{"role": "user", "content": " ".join(["word"] * 40)}]})
    stream = ("curl -s -N -o /dev/null --max-time 4 -w 'carol %%{http_code}\n' %s -H 'Authorization: Bearer %s' "
              "-H 'Content-Type: application/json' -d '%s' %s/v1/chat/completions"
              % (CA, keys(host)["carol"]["key"], body, GATEWAY))
    out = host.run("for i in $(seq 14); do %s & done; sleep 1; %s; wait" % (
        stream, "curl -s -o /dev/null -w 'alice %%{http_code}\n' %s -H 'Authorization: Bearer %s' %s/api/version"
        % (CA, keys(host)["alice"]["key"], GATEWAY))).stdout.splitlines()
    carol = [line.split()[1] for line in out if line.startswith("carol ")]
    assert "alice 200" in out, out
    assert len(carol) == 14 and carol.count("429") == 2, sorted(carol)


def test_every_root_filesystem_is_read_only(host) -> None:
    for service in ("ollama", "nginx", "prometheus", "node-exporter"):
        config = inspect(host, service)["HostConfig"]
        assert config["ReadonlyRootfs"] is True, service
        assert "/tmp" in config["Tmpfs"], service


def test_request_size_is_limited(host) -> None:
    host.check_output("head -c 2000000 /dev/zero | tr '\\0' a > /tmp/big.json")
    status, _body = curl(host, "/api/generate", key=keys(host)["alice"]["key"], extra="--data-binary @/tmp/big.json")
    assert status == 413
