"""Verify the monitoring against the live Prometheus of the stack serving SmolLM2 with the genuine llama-server.

Every recording rule and every alert rule's measured expression (the rule without its threshold) is run
against Prometheus after real traffic through Nginx, and must return at least one series: a rule that
names a metric nobody exports fails here. The series counts are printed for the closing note.
The per-container series come from cadvisor-standin, a named test double of cAdvisor (tests/images/cadvisor-standin)
that reads the nested engine's real cgroups: cAdvisor is in no registry we reach.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "tools"))
import dashboard_exprs  # noqa: E402  pylint: disable=wrong-import-position

# The monitoring is checked on the llama.cpp host, whose engine exports metrics (mistral.rs has none).
testinfra_hosts = ["ansible://frontier-engines13"]

ROOT = "/opt/frontier-llm"
CA = "--cacert %s/nginx/tls/cert.pem" % ROOT
RULES = ROOT + "/prometheus/rules"
DASHBOARDS = sorted((Path(__file__).resolve().parents[3] / "roles/stack/files/grafana/dashboards").glob("*.json"))
THRESHOLD = re.compile(r"\s*(>|<|==|!=|>=|<=)\s*[0-9.]+\s*$")


KEYS: Dict[str, Dict[str, Any]] = {}


def key(host, name: str) -> str:
    """A key from the host's store, read once per module (every Prometheus query needs the operator key)."""
    if not KEYS:
        KEYS.update(json.loads(host.check_output("cat %s/secrets/api_keys.json" % ROOT)))
    return KEYS[name]["key"]


def prometheus(host, path: str, name: str = "frontier-ops") -> Dict[str, Any]:
    out = host.check_output("curl -sS %s -H 'Authorization: Bearer %s' 'https://127.0.0.1/prometheus/api/v1/%s'"
                            % (CA, key(host, name), path))
    return json.loads(out)


def query(host, expr: str) -> List[Dict[str, Any]]:
    answer = prometheus(host, "query?query=" + urllib.parse.quote(expr))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def rules(host) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    for name in ("llm.yml", "alerts.yml"):
        for group in yaml.safe_load(host.file("%s/%s" % (RULES, name)).content_string)["groups"]:
            found.extend(group["rules"])
    return found


# A webhook receiver (a test double of the user's alert endpoint), run with Python from the Ollama stand-in's image
# on the project's network: it prints every notification Alertmanager posts to it.
RECEIVER = "frontier-test-webhook"
RECEIVER_CODE = """
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        print(body.decode(), flush=True)
        self.send_response(200)
        self.end_headers()
http.server.HTTPServer(('0.0.0.0', 9099), Hook).serve_forever()
"""


@pytest.fixture(scope="module", autouse=True)
def webhook_receiver(host):
    host.run("docker rm -f %s" % RECEIVER)
    host.check_output("docker run -d --name %s --network frontier-llm_backend --entrypoint python3 "
                      "frontier-test/ollama-standin:1 -c %s" % (RECEIVER, shlex.quote(RECEIVER_CODE)))
    yield
    host.run("docker rm -f %s" % RECEIVER)


@pytest.fixture(scope="module", autouse=True)
def traffic(host) -> None:
    """Completions through Nginx, then long enough for two scrapes of the counters they moved."""
    body = json.dumps({"model": "smollm2-135m-instruct", "max_tokens": 16,
                       "messages": [{"role": "user", "content": "Name a colour."}]})
    for _attempt in range(3):
        host.check_output("curl -sS %s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '%s' "
                          "https://127.0.0.1/v1/chat/completions" % (CA, key(host, "alice"), body))
    time.sleep(35)


def test_every_scrape_target_is_up(host) -> None:
    targets = prometheus(host, "targets")["data"]["activeTargets"]
    jobs = sorted(target["labels"]["job"] for target in targets)
    print("targets: %s" % ", ".join("%s=%s" % (t["labels"]["job"], t["health"]) for t in targets))
    assert jobs == ["cadvisor", "engine", "engine_probe", "gateway", "node", "prometheus"]
    assert all(target["health"] == "up" for target in targets), targets
    assert {(s["metric"]["job"], s["value"][1]) for s in query(host, "up")} == {
        ("cadvisor", "1"), ("engine", "1"), ("engine_probe", "1"), ("gateway", "1"), ("node", "1"), ("prometheus", "1")}
    # The blackbox exporter reached the engine's /health on the project's network (test_probe_alert.py stops it).
    assert [s["value"][1] for s in query(host, 'probe_success{job="engine_probe", instance="llamacpp:8080"}')] == ["1"]


def test_prometheus_loaded_every_rule_healthy(host) -> None:
    loaded = [rule for group in prometheus(host, "rules")["data"]["groups"] for rule in group["rules"]]
    names = sorted(rule["name"] for rule in loaded)
    assert names == sorted(rule.get("record") or rule.get("alert") for rule in rules(host))
    assert all(rule["health"] == "ok" for rule in loaded), [r for r in loaded if r["health"] != "ok"]


def test_every_rule_returns_series_from_live_data(host) -> None:
    empty = []
    for rule in rules(host):
        expr = rule["expr"] if "record" in rule else THRESHOLD.sub("", rule["expr"])
        series = query(host, expr)
        print("%-24s %2d series  %s" % (rule.get("record") or rule.get("alert"), len(series), expr))
        if not series:
            empty.append(expr)
    assert not empty, "no series for: %s" % empty


def test_every_dashboard_panel_returns_series_from_live_data(host) -> None:
    """Grafana is not deployed; its dashboards are checked more strictly than a screenshot would: every
    expression of every panel, run against the live Prometheus with the dashboard's variables as Grafana opens it
    (every node: tests/tools/dashboard_exprs.py), must return series."""
    empty = []
    for board, panel, expr in dashboard_exprs.expressions(DASHBOARDS):
        series = query(host, expr)
        print("%-18s %-48s %2d series" % (board[:18], panel[:48], len(series)))
        if not series:
            empty.append("%s / %s: %s" % (board, panel, expr))
    assert DASHBOARDS and not empty, "no series for: %s" % empty


def test_tokens_were_counted_after_the_traffic(host) -> None:
    generated = query(host, "llm:generated_tokens:rate5m")
    assert generated and float(generated[0]["value"][1]) > 0, generated
    assert generated[0]["metric"]["engine"] == "llamacpp"


def test_the_gateway_counted_each_request_by_key_name(host) -> None:
    # Real Nginx -> its access-log lines over mtail's socket -> real mtail -> Prometheus: the traffic's three
    # completions (or more: earlier checks made some) under alice's name, with this host's engine and model.
    done = query(host, 'frontier_gateway_requests_total{key="alice", api="chat_completions", status="200"}')
    assert len(done) == 1 and float(done[0]["value"][1]) >= 3, done
    assert done[0]["metric"]["engine"] == "llamacpp" and done[0]["metric"]["model"] == "smollm2-135m-instruct"
    # Names only, never a key.
    exported = host.check_output("docker compose -p frontier-llm exec -T mtail curl -fsS http://127.0.0.1:3903/metrics")
    assert 'key="alice"' in exported and key(host, "alice") not in exported


def test_the_models_filesystem_is_the_one_labelled(host) -> None:
    labelled = query(host, 'node_filesystem_size_bytes{frontier_models="true"}')
    assert len(labelled) == 1, labelled
    mount = labelled[0]["metric"]["mountpoint"]
    # node-exporter reports the host's mount point (it reads the host's root under /host).
    assert host.run("findmnt -n -o TARGET --target /var/lib/frontier-llm/models").stdout.strip() == mount


def test_prometheus_is_for_the_operator_key_only(host) -> None:
    for name, wanted in (("alice", "403"), (None, "401")):
        auth = "-H 'Authorization: Bearer %s'" % key(host, name) if name else ""
        code = host.check_output("curl -s -o /dev/null -w '%%{http_code}' %s %s https://127.0.0.1/prometheus/api/v1/query?query=up"
                                 % (CA, auth))
        assert code == wanted, (name, code)


def test_nothing_but_nginx_is_published(host) -> None:
    for service in ("prometheus", "node-exporter", "blackbox-exporter", "mtail", "alertmanager", "llamacpp"):
        container = host.check_output("docker compose -p frontier-llm ps -q %s" % service)
        assert host.check_output("docker port %s" % container) == "", service


def test_every_service_runs_without_capabilities_it_does_not_need(host) -> None:
    for service in ("prometheus", "node-exporter", "blackbox-exporter", "mtail", "alertmanager", "llamacpp", "nginx"):
        container = host.check_output("docker compose -p frontier-llm ps -q %s" % service)
        config = json.loads(host.check_output("docker inspect %s" % container))[0]["HostConfig"]
        assert config["ReadonlyRootfs"] is True and "/tmp" in config["Tmpfs"], service
        assert config["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in config["SecurityOpt"], service
        assert not config["Privileged"], service
        assert config["CapAdd"] == (["CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"] if service == "nginx" else None), service


def test_the_engines_memory_limit_in_prometheus_is_the_plans(host) -> None:
    plan = json.loads(host.file(ROOT + "/plan.json").content_string)
    limit = query(host, 'container_spec_memory_limit_bytes{container_label_com_docker_compose_service="llamacpp"}')
    assert len(limit) == 1, limit
    assert float(limit[0]["value"][1]) == plan["components"]["llamacpp"]["mem_limit_mb"] * 1024 * 1024
    used = query(host, 'container_memory_working_set_bytes{container_label_com_docker_compose_service="llamacpp"}'
                       ' / container_spec_memory_limit_bytes{container_label_com_docker_compose_service="llamacpp"}')
    print("llamacpp working set / limit: %.3f" % float(used[0]["value"][1]))
    assert 0 < float(used[0]["value"][1]) < 1


def test_a_real_oom_kill_raises_the_alert(host) -> None:
    """A process killed by the kernel under its container's limit: ContainerOOMKilled must fire within its
    for: (none) plus two scrape intervals (15 s each) and one rule evaluation (15 s).

    The allocation comes 35 s after the container starts, so Prometheus has scraped its counter at 0 first:
    increase() sees a counter move, not a series that is born at 1 (cAdvisor's counter behaves the same).
    """
    host.run("docker rm -f frontier-oom-probe")
    host.check_output("docker run -d --name frontier-oom-probe --memory 32m --memory-swap 32m "
                      "frontier-llm/nginx:1.26-debian13 sh -c "
                      "'sleep 35; python3 -c \"x = bytearray(256 << 20)\"; sleep 600'")
    try:
        killed = None
        deadline = time.time() + 35 + 90
        while time.time() < deadline and killed is None:
            time.sleep(1)
            running = host.check_output("docker inspect -f '{{.State.Running}}' frontier-oom-probe")
            counter = query(host, 'container_oom_events_total{name="frontier-oom-probe"}')
            assert running == "true"
            if counter and float(counter[0]["value"][1]) >= 1:
                killed = time.time()
        assert killed is not None, "the kernel did not OOM-kill the probe's allocation"
        firing: List[Dict[str, Any]] = []
        while time.time() - killed < 60 and not firing:
            time.sleep(2)
            firing = query(host, 'ALERTS{alertname="ContainerOOMKilled", alertstate="firing", name="frontier-oom-probe"}')
        print("ContainerOOMKilled fired %.0f s after cAdvisor's counter showed the OOM kill" % (time.time() - killed))
        assert firing, "ContainerOOMKilled did not fire within 60 s of the OOM kill"
        # Only the allocating child was killed: the container runs on, as a server that lost a worker would.
        assert host.check_output("docker inspect -f '{{.State.Running}}' frontier-oom-probe") == "true"
    finally:
        host.run("docker rm -f frontier-oom-probe")


def test_alertmanager_notified_the_receiver_of_the_oom_kill(host) -> None:
    # After test_a_real_oom_kill_raises_the_alert: Prometheus sent the firing alert to Alertmanager, which posted it
    # to the webhook receiver (group_wait 5 s in this scenario).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        posted = host.check_output("docker logs %s 2>&1" % RECEIVER)
        if "ContainerOOMKilled" in posted:
            break
        time.sleep(3)
    notes = [json.loads(line) for line in posted.splitlines() if line.startswith("{")]
    fired = [alert for note in notes for alert in note["alerts"] if alert["labels"]["alertname"] == "ContainerOOMKilled"]
    assert fired and fired[0]["status"] == "firing", posted[-2000:]
    assert notes[0]["receiver"] == "frontier"
