# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack's monitoring: Prometheus and node-exporter services, and Prometheus's scrape configuration.

Plain Python with no Ansible import; :mod:`stack` adds these services to the Compose project.

Rules:

- Neither service publishes a port. Prometheus listens on the project's network and is reached
  through Nginx under ``/prometheus/`` with the operator key only; node-exporter is scraped on
  the project's network.
- Limits and reservations come from the plan's ``components`` (``prometheus``, ``node_exporter``,
  ``blackbox_exporter``).
- Prometheus scrapes itself, node-exporter and, where the engine exports metrics, the engine
  (llama-server's ``/metrics``, on the project's network). Ollama exports none (ollama#3144).
- Every engine, whatever it exports, is probed: the blackbox exporter (Prometheus's own prober) sends a GET to the
  engine's health endpoint on the project's network (:data:`stack.ENGINES`' ``probe_path``) when Prometheus scrapes
  its ``/probe`` as the ``engine_probe`` job, with the ``http_2xx`` module (the stack role's
  ``files/blackbox/blackbox.yml``; with ``stack_engine_probe``, on by default; not on Swarm yet); the
  ``LLMEngineDown`` alert reads its ``probe_success``. The probe's ``instance`` is the engine's address, the same
  as the ``engine`` job's, so the two jobs' series of one engine make one alert.
  The Docker engine's own metrics listen on the host's loopback, which no container reaches, so
  they are not scraped.
- The filesystem that holds the models directory is labelled ``frontier_models="true"`` at
  scrape time, so the static alert rules can watch it without knowing the path.
- Grafana (with ``grafana``) serves under ``/grafana/`` behind Nginx, with its own login (anonymous
  access and sign-up off) and an admin password generated on the host (``GF_SECURITY_ADMIN_PASSWORD__FILE``);
  its Prometheus datasource and the role's dashboards are provisioned from files, read-only.
- On NVIDIA hosts (a plan with backend ``cuda``; with ``dcgm``), NVIDIA's dcgm-exporter: every GPU reserved for
  it as for the engine, ``SYS_ADMIN`` as NVIDIA's documentation runs it, scraped as the ``gpu`` job.
- Alertmanager (with ``alertmanager``) receives Prometheus's alerts and sends them to the one receiver the
  user gives (any of its integrations); its configuration, which holds that receiver's secrets, is readable
  by its own user alone.
- The gateway's metrics: no engine exports request latency, so Nginx sends one line per request
  (the key's name, the API, the status, the times) over a Unix datagram socket in a volume both
  share to ``mtail``, which turns them into ``frontier_gateway_*`` series (``files/mtail`` of the
  stack role). A socket rather than a network address: Nginx resolves a syslog server once, when
  it loads its configuration, and mtail's address changes when it is recreated.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError
from ansible_collections.frontier.llm.plugins.module_utils.units import docker_mib

PROMETHEUS_PORT = 9090
NODE_EXPORTER_PORT = 9100
CADVISOR_PORT = 8080
MTAIL_PORT = 3903
GRAFANA_PORT = 3000
ALERTMANAGER_PORT = 9093
DCGM_EXPORTER_PORT = 9400
BLACKBOX_PORT = 9115
# The job that probes the engine's health endpoint through the blackbox exporter (the LLMEngineDown alert reads it),
# and the exporter's module it uses: a GET that succeeds on a 2xx answer.
PROBE_JOB = "engine_probe"
PROBE_MODULE = "http_2xx"
# Where the blackbox exporter reads its configuration in its container (Debian's package path), and the directory
# under the monitoring configuration directory that holds it on the host.
BLACKBOX_CONFIG = "/etc/prometheus/blackbox.yml"
BLACKBOX_DIR = "blackbox"
# The job that scrapes mtail (the rules and dashboards read job="gateway").
GATEWAY_JOB = "gateway"
# Alertmanager's receiver integrations (its configuration's <receiver>: every *_configs list it knows, 0.28).
RECEIVER_KINDS = ("discord_configs", "email_configs", "jira_configs", "msteams_configs", "msteamsv2_configs",
                  "opsgenie_configs", "pagerduty_configs", "pushover_configs", "rocketchat_configs", "slack_configs",
                  "sns_configs", "telegram_configs", "victorops_configs", "webex_configs", "webhook_configs",
                  "wechat_configs")
# Where Grafana reads its admin password (a file the role generates on the host, readable by Grafana's user alone).
GRAFANA_PASSWORD_FILE = "/run/secrets/grafana_admin_password"
# The volume that carries Nginx's access-log lines to mtail, and mtail's socket in it.
GATEWAY_LOG_VOLUME = "gateway-log"
GATEWAY_LOG_DIR = "/run/frontier-gateway-log"
MTAIL_SOCKET = GATEWAY_LOG_DIR + "/mtail.sock"
# Where mtail reads its programs in its container.
MTAIL_PROGRAM_DIR = "/etc/mtail"
# Prometheus serves under this prefix, so Nginx can pass /prometheus/ through unchanged.
ROUTE_PREFIX = "/prometheus"
# The engines that export Prometheus metrics, and where.
ENGINE_METRICS = {"llamacpp": "/metrics"}
RULE_FILES = "/etc/prometheus/rules/*.yml"
_DURATION_RE = re.compile(r"^[1-9][0-9]{0,4}(ms|s|m|h|d|w|y)\Z")
# Upstream's image has busybox wget, Debian's package image curl.
# Every service of the stack but Nginx: no Linux capability, no privilege gained (setuid binaries, file caps), a
# read-only root filesystem (what a service writes goes to its volumes, or to a private /tmp in memory).
HARDENING: Dict[str, Any] = {"security_opt": ["no-new-privileges:true"], "cap_drop": ["ALL"], "read_only": True,
                             "tmpfs": ["/tmp"]}
# The check cAdvisor's own Dockerfile declares (its image has busybox wget).
_CADVISOR_HEALTH = "wget --quiet --tries=1 --spider http://127.0.0.1:8080/healthz || exit 1"
_SIZE_RE = re.compile(r"^[1-9][0-9]{0,5}(B|KB|MB|GB|TB|PB)\Z")


def check_settings(retention_time: Any, retention_size: Any, scrape_interval: Any) -> None:
    """Raise naming the variable when a value would reach Prometheus's command line malformed."""
    for name, value, pattern, example in (
            ("stack_prometheus_retention_time", retention_time, _DURATION_RE, "15d"),
            ("stack_prometheus_retention_size", retention_size, _SIZE_RE, "10GB"),
            ("stack_prometheus_scrape_interval", scrape_interval, _DURATION_RE, "15s")):
        if not isinstance(value, str) or not pattern.match(value):
            raise PlanError("%s: %r is not a Prometheus %s such as %s"
                            % (name, value, "size" if pattern is _SIZE_RE else "duration", example))


def http_healthcheck(port: int, path: str, start_period: str) -> Dict[str, Any]:
    """A healthcheck over HTTP with what the image holds: busybox wget (upstream's Alpine-based images) or curl
    (the Debian-package images of frontier.llm.images)."""
    url = "http://127.0.0.1:%d%s" % (port, path)
    return {"test": ["CMD-SHELL", "wget -qO /dev/null %s 2>/dev/null || curl -fsS -o /dev/null %s" % (url, url)],
            "interval": "15s", "timeout": "5s", "retries": 3, "start_period": start_period}


def hardened(service: Dict[str, Any], component: Mapping[str, Any]) -> Dict[str, Any]:
    """A service with :data:`HARDENING` and the plan component's limits (see :func:`limits`)."""
    service.update(copy.deepcopy(HARDENING))
    service.update(limits(component))
    return service


def limits(entry: Mapping[str, Any]) -> Dict[str, Any]:
    """A plan component's memory limit, reservation and CPUs as Compose service keys (shared by every service)."""
    return {"mem_limit": docker_mib(int(entry["mem_limit_mb"])),
            "mem_reservation": docker_mib(int(entry["mem_reservation_mb"])),
            "cpus": float(entry["cpus"])}


def services(plan: Mapping[str, Any], images: Mapping[str, str], network: str, config_dir: str,
             config_hash: str, retention_time: str = "15d", retention_size: str = "10GB",
             cadvisor: bool = False, gateway_metrics: bool = False,
             grafana: Optional[Mapping[str, str]] = None, alertmanager: bool = False,
             dcgm: bool = False, engine_probe: bool = False) -> Dict[str, Dict[str, Any]]:
    """The Compose services ``prometheus``, ``node-exporter``, ``blackbox-exporter``, ``cadvisor``, ``mtail`` and
    ``grafana`` for one host's plan.

    ``cadvisor``, ``mtail`` (``gateway_metrics``, whose program is ``config_dir``/mtail) and ``grafana`` only when
    asked; ``grafana`` is a dict with ``dir`` (the host directory of its provisioning and dashboards),
    ``password_file`` (the admin password on the host), ``root_url`` (where users reach it) and ``config_hash``;
    ``alertmanager`` reads ``config_dir``/alertmanager/alertmanager.yml (:func:`alertmanager_config`).
    ``blackbox-exporter`` (``engine_probe``, ``stack_engine_probe``) reads ``config_dir``/blackbox/blackbox.yml (the
    stack role's ``files/blackbox/blackbox.yml``).

    :param config_dir: the host directory with ``prometheus.yml`` and ``rules/``, mounted read-only.
    :param config_hash: a digest of that directory's files, as a label: a changed configuration
        recreates Prometheus, which then reads it (no reload endpoint is opened).
    """
    prometheus: Dict[str, Any] = {
        "image": images["prometheus"],
        "restart": "unless-stopped",
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=%s" % retention_time,
            "--storage.tsdb.retention.size=%s" % retention_size,
            "--web.listen-address=0.0.0.0:%d" % PROMETHEUS_PORT,
            "--web.external-url=%s/" % ROUTE_PREFIX,
        ],
        "volumes": ["%s:/etc/prometheus:ro" % config_dir, "prometheus-data:/prometheus"],
        "networks": [network],
        "labels": {"org.frontier-llm.config": config_hash},
        # promtool is in both upstream's image and Debian's package.
        "healthcheck": {"test": ["CMD", "promtool", "check", "healthy", "--url",
                                 "http://127.0.0.1:%d%s" % (PROMETHEUS_PORT, ROUTE_PREFIX)],
                        "interval": "15s", "timeout": "5s", "retries": 3, "start_period": "30s"},
    }
    hardened(prometheus, plan["components"]["prometheus"])
    node_exporter: Dict[str, Any] = {
        "image": images["node_exporter"],
        "restart": "unless-stopped",
        "command": [
            "--path.rootfs=/host",
            "--web.listen-address=0.0.0.0:%d" % NODE_EXPORTER_PORT,
            "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)",
        ],
        # The host's filesystems, processes and kernel figures, read-only.
        "volumes": ["/:/host:ro"],
        "pid": "host",
        "networks": [network],
        "healthcheck": http_healthcheck(NODE_EXPORTER_PORT, "/metrics", "10s"),
    }
    hardened(node_exporter, plan["components"]["node_exporter"])
    found = {"prometheus": prometheus, "node-exporter": node_exporter}
    if engine_probe:
        found["blackbox-exporter"] = blackbox_service(plan, images, network, config_dir, config_hash)
    if cadvisor:
        found["cadvisor"] = cadvisor_service(plan, images, network)
    if gateway_metrics:
        found["mtail"] = mtail_service(plan, images, network, config_dir, config_hash)
    if grafana:
        found["grafana"] = grafana_service(plan, images, network, grafana)
    if alertmanager:
        found["alertmanager"] = alertmanager_service(plan, images, network, config_dir, config_hash)
    if dcgm and plan.get("backend") == "cuda":
        found["dcgm-exporter"] = dcgm_exporter_service(plan, images, network)
    return found


def blackbox_service(plan: Mapping[str, Any], images: Mapping[str, str], network: str, config_dir: str,
                     config_hash: str) -> Dict[str, Any]:
    """The blackbox exporter, which probes the engine's health endpoint for Prometheus (the ``engine_probe`` job).

    On the project's network only (no port published): Prometheus reaches it there, and it reaches the engine
    there. Its configuration, ``config_dir``/blackbox/blackbox.yml (the stack role's file), is mounted read-only
    at Debian's path, :data:`BLACKBOX_CONFIG`; a changed file changes the config label, which recreates it.
    """
    service: Dict[str, Any] = {
        "image": images["blackbox_exporter"],
        "restart": "unless-stopped",
        "command": ["--config.file=%s" % BLACKBOX_CONFIG, "--web.listen-address=0.0.0.0:%d" % BLACKBOX_PORT],
        "volumes": ["%s/%s:%s:ro" % (config_dir, BLACKBOX_DIR, BLACKBOX_CONFIG.rsplit("/", 1)[0])],
        "networks": [network],
        "labels": {"org.frontier-llm.config": config_hash},
        "healthcheck": http_healthcheck(BLACKBOX_PORT, "/-/healthy", "10s"),
    }
    return hardened(service, plan["components"]["blackbox_exporter"])


def probe_job(engine: str, targets: List[str], probe_path: str) -> Dict[str, Any]:
    """The ``engine_probe`` scrape job: Prometheus asks the blackbox exporter's ``/probe`` to GET
    ``http://<target><probe_path>`` with :data:`PROBE_MODULE`, and records ``probe_success`` under the target's own
    address as ``instance`` (the ``engine`` job's instance of the same engine), labelled with the engine.

    :param targets: the engine's ``host:port`` addresses on the project's network.
    """
    return {"job_name": PROBE_JOB, "metrics_path": "/probe", "params": {"module": [PROBE_MODULE]},
            "static_configs": [{"targets": list(targets), "labels": {"engine": engine}}],
            # Upstream's README pattern: the target becomes the probe's URL parameter and the instance label, and
            # the scrape itself goes to the exporter.
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target",
                 "replacement": "http://${1}%s" % probe_path},
                {"source_labels": ["__address__"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": "blackbox-exporter:%d" % BLACKBOX_PORT}]}


def dcgm_exporter_service(plan: Mapping[str, Any], images: Mapping[str, str], network: str) -> Dict[str, Any]:
    """NVIDIA's dcgm-exporter, as its README runs it in Docker (every GPU, ``--cap-add SYS_ADMIN``), no port published.

    Not read-only and without a healthcheck: its image and DCGM's host engine are NVIDIA's, not run by the
    collection's tests (no GPU there).
    """
    service: Dict[str, Any] = {
        "image": images["dcgm_exporter"],
        "restart": "unless-stopped",
        "networks": [network],
        "cap_drop": ["ALL"],
        "cap_add": ["SYS_ADMIN"],
        "security_opt": ["no-new-privileges:true"],
        "deploy": {"resources": {"reservations": {"devices": [
            {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]}}},
    }
    service.update(limits(plan["components"]["dcgm_exporter"]))
    return service


def alertmanager_service(plan: Mapping[str, Any], images: Mapping[str, str], network: str, config_dir: str,
                         config_hash: str) -> Dict[str, Any]:
    """Alertmanager on the project's network (no port published), its silences and notifications in a volume."""
    service: Dict[str, Any] = {
        "image": images["alertmanager"],
        "restart": "unless-stopped",
        "command": ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager",
                    "--web.listen-address=0.0.0.0:%d" % ALERTMANAGER_PORT, "--cluster.listen-address="],
        "volumes": ["%s/alertmanager:/etc/alertmanager:ro" % config_dir, "alertmanager-data:/alertmanager"],
        "networks": [network],
        "labels": {"org.frontier-llm.config": config_hash},
        "healthcheck": http_healthcheck(ALERTMANAGER_PORT, "/-/healthy", "20s"),
    }
    return hardened(service, plan["components"]["alertmanager"])


def alertmanager_config(receiver: Any, group_wait: str = "30s") -> Dict[str, Any]:
    """Alertmanager's configuration: every alert, grouped by name and host, to the user's one receiver.

    :param receiver: ``stack_alertmanager_receiver``, an Alertmanager ``<receiver>`` without its name: one or
        more of :data:`RECEIVER_KINDS`, each a non-empty list of that integration's settings.
    :raises PlanError: naming the variable and what is wrong.
    """
    if not isinstance(receiver, Mapping) or not receiver:
        raise PlanError("stack_alertmanager_receiver: %r must be a dict of Alertmanager receiver settings, such as "
                        "{webhook_configs: [{url: https://...}]}" % (receiver,))
    for kind, entries in receiver.items():
        if kind not in RECEIVER_KINDS:
            raise PlanError("stack_alertmanager_receiver.%s: not an Alertmanager integration; use one of %s"
                            % (kind, ", ".join(RECEIVER_KINDS)))
        if not isinstance(entries, list) or not entries or not all(isinstance(entry, Mapping) for entry in entries):
            raise PlanError("stack_alertmanager_receiver.%s: expected a non-empty list of dicts" % kind)
    if not isinstance(group_wait, str) or not _DURATION_RE.match(group_wait):
        raise PlanError("stack_alertmanager_group_wait: %r is not a duration such as 30s" % (group_wait,))
    named = dict(receiver)
    named["name"] = "frontier"
    return {"route": {"receiver": "frontier", "group_by": ["alertname", "host", "instance"], "group_wait": group_wait,
                      "group_interval": "5m", "repeat_interval": "4h"},
            "receivers": [named]}


def grafana_service(plan: Mapping[str, Any], images: Mapping[str, str], network: str,
                    settings: Mapping[str, str]) -> Dict[str, Any]:
    """Grafana under ``/grafana/``: provisioned datasource and dashboards, its own login, no default password.

    The settings are Grafana's documented ``GF_<SECTION>_<KEY>`` variables; ``__FILE`` reads the admin password
    from the mounted secret, so it never appears in the environment (``docker inspect``) or the Compose file.
    With ``password_file`` (the single host) that file is bind-mounted at :data:`GRAFANA_PASSWORD_FILE`; without
    it the caller mounts the password there itself (the Swarm stack, as a Swarm secret).
    """
    service: Dict[str, Any] = {
        "image": images["grafana"],
        "restart": "unless-stopped",
        "environment": {
            "GF_SERVER_ROOT_URL": settings["root_url"],
            "GF_SERVER_SERVE_FROM_SUB_PATH": "true",
            "GF_SERVER_HTTP_PORT": str(GRAFANA_PORT),
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD__FILE": GRAFANA_PASSWORD_FILE,
            "GF_SECURITY_COOKIE_SECURE": "true",
            "GF_SECURITY_DISABLE_GRAVATAR": "true",
            "GF_AUTH_ANONYMOUS_ENABLED": "false",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
            "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning",
        },
        "volumes": ["grafana-data:/var/lib/grafana",
                    "%s/provisioning:/etc/grafana/provisioning:ro" % settings["dir"],
                    "%s/dashboards:/var/lib/frontier-dashboards:ro" % settings["dir"]],
        "networks": [network],
        "labels": {"org.frontier-llm.config": settings["config_hash"]},
        "healthcheck": http_healthcheck(GRAFANA_PORT, "/api/health", "60s"),
    }
    if settings.get("password_file"):
        service["volumes"].append("%s:%s:ro" % (settings["password_file"], GRAFANA_PASSWORD_FILE))
    return hardened(service, plan["components"]["grafana"])


def mtail_service(plan: Mapping[str, Any], images: Mapping[str, str], network: str, config_dir: Optional[str],
                  config_hash: str) -> Dict[str, Any]:
    """mtail, reading Nginx's access-log lines from its socket in the shared volume.

    Started through ``/bin/sh``: a socket left by an earlier run would make mtail's bind fail, and the
    socket must be writable by Nginx's worker processes (another user, in another container).
    With ``config_dir`` (the single host) its program is bind-mounted from ``config_dir``/mtail at
    :data:`MTAIL_PROGRAM_DIR`; without it the caller puts the program there itself (the Swarm stack, as a
    Swarm config).
    """
    service: Dict[str, Any] = {
        "image": images["mtail"],
        "restart": "unless-stopped",
        "entrypoint": ["/bin/sh", "-c", 'umask 000 && rm -f %s && exec mtail "$@"' % MTAIL_SOCKET, "mtail"],
        "command": ["--progs", MTAIL_PROGRAM_DIR, "--logs", "unixgram://%s" % MTAIL_SOCKET, "--port", str(MTAIL_PORT),
                    "--logtostderr", "--emit_prog_label=false"],
        "volumes": (["%s/mtail:%s:ro" % (config_dir, MTAIL_PROGRAM_DIR)] if config_dir else [])
        + ["%s:%s" % (GATEWAY_LOG_VOLUME, GATEWAY_LOG_DIR)],
        "networks": [network],
        "labels": {"org.frontier-llm.config": config_hash},
        "healthcheck": http_healthcheck(MTAIL_PORT, "/metrics", "10s"),
    }
    return hardened(service, plan["components"]["mtail"])


def cadvisor_service(plan: Mapping[str, Any], images: Mapping[str, str], network: str) -> Dict[str, Any]:
    """cAdvisor, as its README runs it in Docker: the host's root, /sys, /var/run (the engine's socket) and
    /var/lib/docker read-only, privileged (it reads every container's cgroup and the kernel log for OOM
    events), in the host's cgroup namespace. The one service that is not hardened: it cannot work without."""
    service: Dict[str, Any] = {
        "image": images["cadvisor"],
        "restart": "unless-stopped",
        "command": ["--docker_only=true", "--housekeeping_interval=15s", "--store_container_labels=true"],
        "volumes": ["/:/rootfs:ro", "/var/run:/var/run:ro", "/sys:/sys:ro", "/var/lib/docker/:/var/lib/docker:ro"],
        "privileged": True,
        "cgroup": "host",
        "networks": [network],
        "healthcheck": {"test": ["CMD-SHELL", _CADVISOR_HEALTH], "interval": "15s", "timeout": "5s", "retries": 3,
                        "start_period": "20s"},
    }
    service.update(limits(plan["components"]["cadvisor"]))
    return service


def prometheus_config(plan: Mapping[str, Any], engine_service: str, engine_port: int, models_mountpoint: str,
                      scrape_interval: str = "15s", host: str = "", cadvisor: bool = False,
                      gateway_metrics: bool = False, alertmanager: bool = False, dcgm: bool = False,
                      probe_path: Optional[str] = None) -> Dict[str, Any]:
    """Prometheus's configuration (``prometheus.yml``) for one host's stack.

    :param engine_service: the engine's Compose service (its name on the project's network).
    :param models_mountpoint: the mount point, on the host, of the filesystem that holds the
        models directory; node-exporter reports it under ``/host``.
    :param host: the inventory name, the ``host`` label of every series.
    :param cadvisor: scrape cAdvisor (the per-container series: memory against each limit, OOM events, starts).
    :param gateway_metrics: scrape mtail (the gateway's requests), labelled with the engine and, on a host that
        serves one model, that model (Nginx does not read the request's body, so a request's model is unknown).
    :param alertmanager: send the alerts to the project's Alertmanager.
    :param dcgm: scrape dcgm-exporter (the ``gpu`` job) on a plan with backend ``cuda``.
    :param probe_path: the engine's health endpoint, which the ``engine_probe`` job probes through the blackbox
        exporter (:func:`probe_job`); None for no probe.
    """
    jobs: List[Dict[str, Any]] = [
        {"job_name": "prometheus", "metrics_path": "%s/metrics" % ROUTE_PREFIX,
         "static_configs": [{"targets": ["127.0.0.1:%d" % PROMETHEUS_PORT]}]},
        {"job_name": "node", "static_configs": [{"targets": ["node-exporter:%d" % NODE_EXPORTER_PORT]}],
         "metric_relabel_configs": [{
             "source_labels": ["mountpoint"],
             "regex": re.escape(models_mountpoint),
             "target_label": "frontier_models",
             "replacement": "true"}]},
    ]
    if cadvisor:
        jobs.append({"job_name": "cadvisor", "static_configs": [{"targets": ["cadvisor:%d" % CADVISOR_PORT]}]})
    if gateway_metrics:
        labels = gateway_labels(plan["engine"], [model["name"] for model in plan["models"]])
        jobs.append({"job_name": GATEWAY_JOB,
                     "static_configs": [{"targets": ["mtail:%d" % MTAIL_PORT], "labels": labels}]})
    if dcgm and plan.get("backend") == "cuda":
        jobs.append({"job_name": "gpu", "static_configs": [{"targets": ["dcgm-exporter:%d" % DCGM_EXPORTER_PORT]}]})
    path = ENGINE_METRICS.get(plan["engine"])
    if path:
        jobs.append({"job_name": "engine", "metrics_path": path,
                     "static_configs": [{"targets": ["%s:%d" % (engine_service, engine_port)],
                                         "labels": {"engine": plan["engine"]}}]})
    if probe_path:
        jobs.append(probe_job(plan["engine"], ["%s:%d" % (engine_service, engine_port)], probe_path))
    config: Dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                   "external_labels": {"host": host} if host else {}},
        "rule_files": [RULE_FILES],
        "scrape_configs": jobs,
    }
    if alertmanager:
        config["alerting"] = alerting()
    return config


def alerting() -> Dict[str, Any]:
    """Prometheus's ``alerting`` section: the stack's Alertmanager, by its service name (on a single host the
    Compose service, on Swarm the service, which Docker's DNS resolves to its task)."""
    return {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:%d" % ALERTMANAGER_PORT]}]}]}


def gateway_labels(engine: str, models: List[str]) -> Dict[str, str]:
    """The labels of the gateway job's series: the engine and, where the gateway serves one model, that model
    (Nginx does not read a request's body, so a request's model is unknown when there are several)."""
    labels = {"engine": engine}
    if len(models) == 1:
        labels["model"] = models[0]
    return labels
