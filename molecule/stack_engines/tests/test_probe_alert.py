"""Verify the engine-down alert on both hosts: stop the engine, LLMEngineDown must fire, then bring the engine back.

The blackbox exporter (frontier-llm/blackbox-exporter, Debian's prometheus-blackbox-exporter) probes the engine's
health endpoint for Prometheus (the engine_probe job). The engines are real ones, no test double: llama.cpp's genuine
llama-server (its own /health) on frontier-engines13, and the real mistral.rs engine on frontier-mistralrs13, whose
HTTP server (and so the /health it answers) is frontier.llm's own mistralrs-pyserver, not upstream's mistralrs-server.
Ollama is not in this scenario (its named test double, ollama-standin, serves the stack scenario).

This module runs after the others of the scenario (by name): the engine it stops is started again and healthy
before it ends, but the alert's resolution is not awaited.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any, Dict, List

import yaml

testinfra_hosts = ["ansible://frontier-engines13", "ansible://frontier-mistralrs13"]

ROOT = "/opt/frontier-llm"
CA = "--cacert %s/nginx/tls/cert.pem" % ROOT
# LLMEngineDown's for: (alerts.yml) plus a probe and a rule evaluation at the 15 s scrape interval, and margin.
FIRE_WITHIN = 150
# The engine's start (SmolLM2-135M loads in seconds) and its healthcheck's first passes.
HEALTHY_WITHIN = 180


def query(host, expr: str) -> List[Dict[str, Any]]:
    """A PromQL query through Nginx with the operator key (Prometheus is reached only so)."""
    keys = json.loads(host.check_output("cat %s/secrets/api_keys.json" % ROOT))
    out = host.check_output("curl -sS %s -H 'Authorization: Bearer %s' 'https://127.0.0.1/prometheus/api/v1/query?query=%s'"
                            % (CA, keys["frontier-ops"]["key"], urllib.parse.quote(expr)))
    answer = json.loads(out)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def engine(host) -> Dict[str, Any]:
    """The engine's service and address on the project's network, from the Compose file the role wrote."""
    meta = yaml.safe_load(host.file(ROOT + "/compose.yml").content_string)["x-frontier"]
    return {"service": meta["engine_service"], "instance": "%s:%d" % (meta["engine_service"], meta["engine_port"]),
            "engine": meta["engine"]}


def health(host, service: str) -> str:
    container = host.check_output("docker compose -p frontier-llm ps -a -q %s" % service)
    return host.check_output("docker inspect -f '{{.State.Health.Status}}' %s" % container)


def wait_for(check, within: float, step: float = 2.0) -> float:
    """Seconds until check() is true, or -1 after ``within`` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if check():
            return time.monotonic() - start
        time.sleep(step)
    return -1.0


def test_a_stopped_engine_raises_llm_engine_down(host) -> None:
    wanted = engine(host)
    alert = 'ALERTS{alertname="LLMEngineDown", alertstate="firing", instance="%s"}' % wanted["instance"]
    # The engine serving: its probe succeeds and nothing fires (the alert's silent side, live).
    probe = query(host, 'probe_success{job="engine_probe", instance="%s"}' % wanted["instance"])
    assert [(s["metric"]["engine"], s["value"][1]) for s in probe] == [(wanted["engine"], "1")], probe
    assert query(host, alert) == []
    host.check_output("docker compose -p frontier-llm stop %s" % wanted["service"])
    stopped = time.monotonic()
    try:
        fired = wait_for(lambda: bool(query(host, alert)), FIRE_WITHIN)
        elapsed = time.monotonic() - stopped
        down = query(host, 'probe_success{job="engine_probe", instance="%s"}' % wanted["instance"])
        print("%s: LLMEngineDown fired %.0f s after the %s engine stopped (for: 1m, 15 s scrape interval); "
              "probe_success=%s" % (host.backend.get_hostname(), elapsed if fired >= 0 else -1, wanted["engine"],
                                    [s["value"][1] for s in down]))
        assert fired >= 0, "LLMEngineDown did not fire within %d s of the engine stopping" % FIRE_WITHIN
        firing = query(host, alert)
        assert len(firing) == 1 and firing[0]["metric"]["severity"] == "critical", firing
        assert firing[0]["metric"]["engine"] == wanted["engine"]
    finally:
        host.check_output("docker compose -p frontier-llm start %s" % wanted["service"])
    back = wait_for(lambda: health(host, wanted["service"]) == "healthy", HEALTHY_WITHIN)
    assert back >= 0, "the %s engine was not healthy again within %d s" % (wanted["engine"], HEALTHY_WITHIN)
    answered = wait_for(lambda: [s["value"][1] for s in query(
        host, 'probe_success{job="engine_probe", instance="%s"}' % wanted["instance"])] == ["1"], 60)
    print("%s: the engine was healthy again %.0f s after its start, its probe succeeded %.0f s later"
          % (host.backend.get_hostname(), back, answered))
    assert answered >= 0, "the probe did not succeed again within 60 s of the engine being healthy"
