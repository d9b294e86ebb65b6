"""Verify the stack on Swarm: services against the plans, the gateway across workers, a drain without failures."""

from __future__ import annotations

import json
import re
import time
import urllib.parse


testinfra_hosts = ["ansible://frontier-swarm-m1"]

ROOT = "/opt/frontier-llm"
MODEL = "smollm2-135m-instruct"
SECOND = "smollm2-second"
THIRD = "smollm2-third"  # added by the side effect, with the node frontier-swarm-w3
SERVICE = "frontier-llm_engine-smollm2-135m-instruct"
WORKERS = ("frontier-swarm-w1", "frontier-swarm-w2")
NEW_NODE = "frontier-swarm-w3"
MIB = 1024 * 1024
CA = "--cacert %s/nginx/tls/cert.pem" % ROOT


def key(host, name: str = "alice") -> str:
    return json.loads(host.check_output("cat %s/secrets/api_keys.json" % ROOT))[name]["key"]


def completion_cmd(host, count: int = 1, pause: float = 0) -> str:
    """A shell loop of chat completions through the gateway, one HTTP status per line."""
    body = json.dumps({"model": MODEL, "max_tokens": 4, "temperature": 0,
                       "messages": [{"role": "user", "content": "Hi"}]})
    one = ("curl -sS -o /dev/null -w '%%{http_code}\\n' -m 60 %s -H 'Authorization: Bearer %s' "
           "-H 'Content-Type: application/json' -d '%s' https://127.0.0.1/v1/chat/completions" % (CA, key(host), body))
    return "for i in $(seq %d); do %s || echo curl-failed; sleep %s; done" % (count, one, pause)


def tasks(host, service: str = SERVICE) -> list:
    """An engine service's running tasks: (node hostname, current state)."""
    out = host.check_output("docker service ps %s --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'"
                            % service)
    return [line.split()[:2] for line in out.splitlines() if line.strip()]


def ask(host, model: str) -> dict:
    """One chat completion through the gateway, with alice's key; the parsed answer."""
    body = json.dumps({"model": model, "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]})
    return json.loads(host.check_output(
        "curl -sS %s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '%s' "
        "https://127.0.0.1/v1/chat/completions" % (CA, key(host), body)))


def test_a_new_node_takes_the_new_model_and_nothing_else_moves(host) -> None:
    """The side effect added frontier-swarm-w3 and a third model, then re-ran swarm.yml without a rebalance.

    First in this file (pytest keeps the file's order): the drain below moves tasks."""
    before = json.loads(host.file("/tmp/grow-before-placement.json").content_string)["placements"]
    after = json.loads(host.file(ROOT + "/swarm-placement.json").content_string)["placements"]
    print("placement before the node joined: %s; after: %s" % (before, after))
    assert NEW_NODE not in before
    for node, models in before.items():
        assert after[node] == models, node
    assert after[NEW_NODE] == [THIRD]
    nodes = host.check_output("docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}'").split("\n")
    assert "%s Ready Active" % NEW_NODE in nodes, nodes
    # The engine tasks of the two models already served are the same tasks (not restarted, not moved).
    tasks_now = host.check_output(
        "docker service ps frontier-llm_engine-smollm2-135m-instruct frontier-llm_engine-smollm2-second "
        "--filter desired-state=running --format '{{.ID}} {{.Name}} {{.Node}}' | sort")
    assert tasks_now.split("\n") == host.file("/tmp/grow-before-tasks").content_string.strip().split("\n")
    assert tasks(host, "frontier-llm_engine-smollm2-third") == [[NEW_NODE, "Running"]]
    assert ask(host, THIRD)["model"] == THIRD


def status_with(host, secret: str) -> str:
    """The HTTP status of GET /v1/models through the gateway with the key ``secret``."""
    return host.check_output("curl -sS -o /dev/null -w '%%{http_code}' %s -H 'Authorization: Bearer %s' "
                             "https://127.0.0.1/v1/models" % (CA, secret))


def worker_started(host, pid: str) -> float:
    """When process ``pid`` of the manager started, in epoch seconds to a clock tick (``/proc/PID/stat``'s
    starttime counts ticks since boot; ``ps``'s lstart has whole seconds only)."""
    return float(host.check_output(
        "python3 -c 'import os, time; ticks = int(open(\"/proc/%s/stat\").read().rsplit(\")\", 1)[1].split()[19]); "
        "up = float(open(\"/proc/uptime\").read().split()[0]); "
        "print(time.time() - up + ticks / os.sysconf(\"SC_CLK_TCK\"))'" % pid))


def test_keys_rotate_and_the_swarm_grows_without_cutting_a_stream(host) -> None:
    """The side effect streamed completions in two loops while swarm.yml revoked bob's key, added carol's and routed a
    third model: Nginx reloaded in the same gateway task (no new task), no stream was cut, the keys changed.

    0.2.0 kept the keys in a Swarm secret: a change replaced the gateway task stop-first, cutting every open stream."""
    before = host.file("/tmp/rotate-gateway-before").content_string.split()
    after = host.file("/tmp/rotate-gateway-after").content_string.split()
    print("gateway task's container before the change: %s, after: %s" % (before, after))
    # The newest worker's start: when Nginx took the new keys and routes (a reload, or a new task).
    top = host.check_output("docker top %s -eo pid,args" % after[0])
    workers = [line.split()[0] for line in top.splitlines() if "nginx: worker process" in line]
    reloaded = max(worker_started(host, pid) for pid in workers)
    begin = float(host.file("/tmp/streams.begin").content_string)
    streams = [line.split() for line in host.file("/tmp/streams.log").content_string.splitlines() if line.strip()]
    cut = [stream for stream in streams if stream[3] != "200" or stream[4] != "done"]
    across = [stream for stream in streams if float(stream[1]) < reloaded < float(stream[2])]
    print("streams: %d in %.0f s, %d cut %s; Nginx reloaded %.0f s after the first began, %d streams open across it"
          % (len(streams), float(streams[-1][2]) - begin if streams else 0, len(cut), cut, reloaded - begin, len(across)))
    assert len(before) == 1 and after == before
    assert begin < reloaded, "no reload during the streams"
    assert across, "no stream was open when Nginx reloaded"
    assert streams and not cut
    # bob's key as it was before the side effect revoked it.
    bob = host.file("/tmp/rotate-bob.key").content_string.strip()
    assert bob and "bob" not in json.loads(host.check_output("cat %s/secrets/api_keys.json" % ROOT))
    assert [status_with(host, secret) for secret in (key(host, "alice"), key(host, "carol"), bob)] == ["200", "200", "401"]


def test_services_apply_the_plans(host) -> None:
    plans = json.loads(host.file(ROOT + "/swarm-plans.json").content_string)
    engine = plans[MODEL]["plan"]["components"]["llamacpp"]
    spec = json.loads(host.check_output("docker service inspect %s" % SERVICE))[0]["Spec"]
    resources = spec["TaskTemplate"]["Resources"]
    print("engine: limit %d MiB, reservation %d MiB (plan of %s); replicas %d" % (
        resources["Limits"]["MemoryBytes"] // MIB, resources["Reservations"]["MemoryBytes"] // MIB,
        plans[MODEL]["node"], spec["Mode"]["Replicated"]["Replicas"]))
    assert resources["Limits"]["MemoryBytes"] == engine["mem_limit_mb"] * MIB
    assert resources["Reservations"]["MemoryBytes"] == engine["mem_reservation_mb"] * MIB
    assert spec["Mode"]["Replicated"]["Replicas"] == plans[MODEL]["replicas"] == 2
    env = dict(item.split("=", 1) for item in spec["TaskTemplate"]["ContainerSpec"]["Env"])
    for name, value in plans[MODEL]["plan"]["env"].items():
        assert env[name] == value, name
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    assert "node.labels.frontier.llm.model.smollm2-135m-instruct == true" in spec["TaskTemplate"]["Placement"]["Constraints"]


def test_replicas_on_the_labelled_workers(host) -> None:
    placement = json.loads(host.file(ROOT + "/swarm-placement.json").content_string)["placements"]
    assert sorted(node for node, models in placement.items() if MODEL in models) == sorted(WORKERS)
    for worker in WORKERS:
        labels = json.loads(host.check_output("docker node inspect %s --format '{{json .Spec.Labels}}'" % worker))
        assert labels["frontier.llm.model.smollm2-135m-instruct"] == "true"
        assert int(labels["frontier.llm.memory_gib"]) > 0
    manager = json.loads(host.check_output("docker node inspect frontier-swarm-m1 --format '{{json .Spec.Labels}}'"))
    assert not [label for label in manager if label.startswith("frontier.llm.model.")]
    assert sorted(node for node, _state in tasks(host)) == sorted(WORKERS)


def test_only_the_gateway_publishes_a_port(host) -> None:
    published = {}
    for name in host.check_output("docker stack services frontier-llm --format '{{.Name}}'").split():
        ports = json.loads(host.check_output("docker service inspect %s --format '{{json .Endpoint.Ports}}'" % name))
        published[name] = [(port["PublishedPort"], port["PublishMode"]) for port in ports or []]
    assert published.pop("frontier-llm_gateway") == [(443, "host")]
    assert not any(published.values()), published


def test_a_key_is_required(host) -> None:
    out = host.check_output("curl -sS -o /dev/null -w '%%{http_code}' %s -H 'Content-Type: application/json' "
                            "-d '{\"model\": \"%s\"}' https://127.0.0.1/v1/chat/completions" % (CA, MODEL))
    assert out == "401"


def test_models_are_listed_and_an_unknown_or_missing_model_is_refused(host) -> None:
    listed = json.loads(host.check_output("curl -sS %s -H 'Authorization: Bearer %s' https://127.0.0.1/v1/models"
                                          % (CA, key(host))))
    assert sorted(model["id"] for model in listed["data"]) == [MODEL, SECOND, THIRD]
    for body in ('{"model": "nope"}', '{"messages": []}'):
        out = host.check_output("curl -sS -o /dev/null -w '%%{http_code}' %s -H 'Authorization: Bearer %s' "
                                "-d '%s' https://127.0.0.1/v1/chat/completions" % (CA, key(host), body))
        assert out == "404", body


def test_each_request_goes_to_the_service_of_its_model(host) -> None:
    """Two services serve the same file under two names: each answer comes from the engine of the model asked for."""
    for name in (MODEL, SECOND, THIRD, MODEL, SECOND, THIRD):
        answer = ask(host, name)
        assert answer["model"] == name, answer


def test_nothing_but_the_gateway_listens_on_every_address(host) -> None:
    """Swarm's own ports listen on the node's Swarm address; only Nginx's 443 on every address."""
    wide = []
    for line in host.check_output("ss -Htln").splitlines():
        local = line.split()[3]
        address, port = local.rsplit(":", 1)
        if address in ("0.0.0.0", "*", "[::]") and port != "443":
            wide.append(local)
    print("listening on every address: %s" % (wide or "only 443"))
    assert not wide


def test_the_gateway_reaches_an_engine_on_each_worker(host) -> None:
    statuses = host.check_output(completion_cmd(host, count=12)).split()
    assert statuses == ["200"] * 12
    network = json.loads(host.check_output("docker network inspect frontier-llm_backend --verbose"))[0]
    # Every engine task's address -> (its service, its node): the log also holds the other model's requests.
    task_of = {}
    for service, entry in network["Services"].items():
        for task in entry["Tasks"]:
            task_of[task["EndpointIP"]] = (service, task["Info"]["Host IP"])
    log = host.check_output("docker service logs --raw --since 5m frontier-llm_gateway 2>/dev/null")
    used = set()
    for address in re.findall(r"key=alice .*?ua=([0-9.]+):8080", log):
        service, node = task_of.get(address, ("?", address))
        assert service != "?", "the gateway passed a request to %s, no engine task's address" % address
        if service == SERVICE:
            used.add(node)
    print("engine tasks by address: %s; the gateway used %s's tasks on nodes %s" % (task_of, SERVICE, sorted(used)))
    assert len(used) == 2, used


def test_draining_a_worker_loses_no_request_and_never_doubles_a_node(host) -> None:
    """Requests run through the gateway while w1 is drained: none may fail, and w1's engine task is not put on w2.

    place_models budgeted w2 for one replica of the model: Swarm's own choice would be to move w1's task there (two
    replicas on one node's budget). The service's max_replicas_per_node (what place_models decided) forbids it, so the
    task waits until w1 is active again, while w2's replica serves every request."""
    host.check_output("rm -f /tmp/drain.log; (%s) > /tmp/drain.log 2>&1 & echo $! > /tmp/drain.pid"
                      % completion_cmd(host, count=90, pause=0.3))
    time.sleep(3)
    host.check_output("docker node update --availability drain frontier-swarm-w1")
    try:
        pending = ""
        deadline = time.time() + 240
        while time.time() < deadline:
            pending = host.check_output(
                "docker service ps %s --no-trunc --filter desired-state=running --format '{{.Node}}|{{.CurrentState}}|{{.Error}}'"
                % SERVICE)
            if "max replicas per node" in pending:
                break
            time.sleep(3)
        print("engine tasks after the drain: %s" % pending.replace("\n", "; "))
        assert "max replicas per node" in pending, pending
        running = [node for node, state in tasks(host) if state == "Running"]
        assert running == ["frontier-swarm-w2"], running
        # The requests go on meanwhile: wait for the loop to end (at most 90 requests of 60 s).
        host.run("timeout 600 sh -c 'while kill -0 $(cat /tmp/drain.pid) 2>/dev/null; do sleep 1; done'")
        statuses = host.file("/tmp/drain.log").content_string.split()
        failed = [status for status in statuses if status != "200"]
        print("drain: %d requests through the gateway, %d failed %s" % (len(statuses), len(failed), failed))
        assert len(statuses) == 90 and not failed
    finally:
        host.check_output("docker node update --availability active frontier-swarm-w1")
    deadline = time.time() + 240
    while time.time() < deadline and sorted(node for node, state in tasks(host) if state == "Running") != [
            "frontier-swarm-w1", "frontier-swarm-w2"]:
        time.sleep(3)
    assert sorted(node for node, state in tasks(host) if state == "Running") == ["frontier-swarm-w1", "frontier-swarm-w2"]


def test_prometheus_scrapes_every_engine_replica_and_node(host) -> None:
    ops = key(host, "frontier-ops")
    for _wait in range(40):
        out = json.loads(host.check_output(
            "curl -sS %s -H 'Authorization: Bearer %s' 'https://127.0.0.1/prometheus/api/v1/query?query=up'"
            % (CA, ops)))
        ups = [(series["metric"]["job"], series["metric"].get("model", ""), series["value"][1])
               for series in out["data"]["result"]]
        if ups.count(("engine", MODEL, "1")) == 2 and ups.count(("engine", SECOND, "1")) == 1 \
                and ups.count(("engine", THIRD, "1")) == 1 and ups.count(("node", "", "1")) == 4:
            break
        time.sleep(3)
    print("Prometheus up: %s" % sorted(ups))
    assert ups.count(("engine", MODEL, "1")) == 2 and ups.count(("engine", SECOND, "1")) == 1
    assert ups.count(("engine", THIRD, "1")) == 1
    assert ups.count(("node", "", "1")) == 4


def prometheus(host, path: str) -> dict:
    """Prometheus's HTTP API through the gateway, with the operator key."""
    return json.loads(host.check_output("curl -sS %s -H 'Authorization: Bearer %s' 'https://127.0.0.1/prometheus/api/v1/%s'"
                                        % (CA, key(host, "frontier-ops"), path)))


def query(host, expr: str) -> list:
    answer = prometheus(host, "query?query=" + urllib.parse.quote(expr))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_the_gateways_access_log_reaches_prometheus_through_mtail(host) -> None:
    """mtail runs beside the gateway on the manager, reads Nginx's access log from their node's shared volume, and
    Prometheus scrapes it as the gateway job (what the rules and dashboards read)."""
    assert tasks(host, "frontier-llm_mtail") == [["frontier-swarm-m1", "Running"]]
    expr = 'sum(frontier_gateway_requests_total{job="gateway", key="alice", status="200"})'

    def counted() -> float:
        found = query(host, expr)
        return float(found[0]["value"][1]) if found else 0.0

    # Two scrapes after the earlier checks' requests, then three more: the counter must rise by three.
    time.sleep(31)
    before = counted()
    assert host.check_output(completion_cmd(host, count=3)).split() == ["200"] * 3
    after = before
    for _wait in range(30):
        after = counted()
        if after >= before + 3:
            break
        time.sleep(3)
    print("alice's answered requests counted by mtail: %s before three more, %s after" % (before, after))
    assert before > 0 and after >= before + 3
    assert [series["value"][1] for series in query(host, 'up{job="gateway"}')] == ["1"]


def test_prometheus_sends_its_alerts_to_the_swarms_alertmanager(host) -> None:
    """Alertmanager runs on the manager beside Prometheus, which finds it; it reads the user's receiver. (No alert
    fires in this scenario: the delivery of one to a receiver is checked on a single host, in stack_engines.)"""
    assert tasks(host, "frontier-llm_alertmanager") == [["frontier-swarm-m1", "Running"]]
    active = []
    for _wait in range(20):
        active = prometheus(host, "alertmanagers")["data"]["activeAlertmanagers"]
        if active:
            break
        time.sleep(3)
    print("Prometheus's Alertmanagers: %s" % active)
    assert [entry["url"].rsplit(":", 1)[-1] for entry in active] == ["9093/api/v2/alerts"]
    assert [series["value"][1] for series in query(host, "prometheus_notifications_alertmanagers_discovered")] == ["1"]
    container = host.check_output("docker ps -q --filter label=com.docker.swarm.service.name=frontier-llm_alertmanager")
    status = json.loads(host.check_output(
        "docker exec %s sh -c 'wget -qO- http://127.0.0.1:9093/api/v2/status 2>/dev/null || "
        "curl -fsS http://127.0.0.1:9093/api/v2/status'" % container))
    # Alertmanager shows the receiver's URL as <secret>: the receiver and the route are the collection's.
    original = status["config"]["original"]
    assert "receiver: frontier" in original and "- name: frontier\n  webhook_configs:" in original, original


def lowest_sample(host) -> float:
    """The timestamp of the oldest sample in Prometheus's TSDB (through the gateway, with the operator key)."""
    out = json.loads(host.check_output(
        "curl -sS %s -H 'Authorization: Bearer %s' "
        "'https://127.0.0.1/prometheus/api/v1/query?query=prometheus_tsdb_lowest_timestamp_seconds'"
        % (CA, key(host, "frontier-ops"))))
    return float(out["data"]["result"][0]["value"][1])


def test_prometheus_data_survives_a_new_task(host) -> None:
    """Prometheus's task is replaced (as an update or a node restart does): its named volume keeps the samples."""
    created = json.loads(host.check_output("docker volume inspect frontier-llm_prometheus-data"))[0]["CreatedAt"]
    before = lowest_sample(host)
    host.check_output("docker service update --force --detach=false --quiet frontier-llm_prometheus")
    after = None
    for _wait in range(60):
        result = host.run("curl -sS %s -H 'Authorization: Bearer %s' 'https://127.0.0.1/prometheus/api/v1/query?"
                          "query=prometheus_tsdb_lowest_timestamp_seconds'" % (CA, key(host, "frontier-ops")))
        if result.rc == 0 and '"result":[{' in result.stdout:
            after = lowest_sample(host)
            break
        time.sleep(3)
    print("Prometheus's oldest sample: %s before the new task, %s after" % (before, after))
    assert json.loads(host.check_output("docker volume inspect frontier-llm_prometheus-data"))[0]["CreatedAt"] == created
    assert after is not None and after <= before
