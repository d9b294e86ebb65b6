#!/usr/bin/env bash
# The stack's Prometheus rules checked by Debian's promtool (the frontier-llm/prometheus image that
# `make images` builds): `promtool check rules` on every rule file, then `promtool test rules` on
# tests/prometheus/rules_test.yml (each alert fires on its input and stays silent on a healthy series); the
# blackbox exporter's configuration checked by the exporter (the frontier-llm/blackbox-exporter image).
set -euo pipefail
cd "$(dirname "$0")/.."
image=${FRONTIER_PROMETHEUS_IMAGE:-frontier-llm/prometheus:2.53-debian13}
docker image inspect "$image" >/dev/null 2>&1 || { echo "promtool: $image is missing: run make images"; exit 1; }
run() {
  docker run --rm --entrypoint promtool \
    -v "$PWD/roles/stack/files/prometheus/rules:/rules:ro" -v "$PWD/tests/prometheus:/tests:ro" "$image" "$@"
}
run check rules /rules/llm.yml /rules/alerts.yml
run test rules /tests/rules_test.yml
# Every dashboard panel's PromQL, as recording rules, so promtool parses each expression (tests/tools/dashboard_exprs.py).
panels=$(mktemp -d)
trap 'rm -rf "$panels"' EXIT
# Grafana's variables ($node) substituted as Grafana does when the dashboard opens (every node).
python3 tests/tools/dashboard_exprs.py "$panels/panels.yml"
chmod 0755 "$panels" && chmod 0644 "$panels/panels.yml"
docker run --rm --entrypoint promtool -v "$panels:/panels:ro" "$image" check rules /panels/panels.yml
echo "promtool: rules checked and tested with $(run --version 2>&1 | head -n 1)"

# The blackbox exporter's configuration (roles/stack/files/blackbox) read by Debian's exporter itself (--config.check).
blackbox_image=${FRONTIER_BLACKBOX_IMAGE:-frontier-llm/blackbox-exporter:0.26-debian13}
docker image inspect "$blackbox_image" >/dev/null 2>&1 || { echo "promtool: $blackbox_image is missing: run make images"; exit 1; }
docker run --rm -v "$PWD/roles/stack/files/blackbox:/etc/prometheus:ro" "$blackbox_image" \
  --config.file=/etc/prometheus/blackbox.yml --config.check
echo "promtool: the blackbox exporter's configuration checked by $(docker run --rm "$blackbox_image" --version 2>&1 | head -n 1)"

# The gateway's mtail program (roles/stack/files/mtail) on access-log lines in the format nginx.conf
# gives them (frontier_mtail, as Nginx's syslog sends them): each field lands in its label.
mtail_image=${FRONTIER_MTAIL_IMAGE:-frontier-llm/mtail:3.0-debian13}
docker image inspect "$mtail_image" >/dev/null 2>&1 || { echo "promtool: $mtail_image is missing: run make images"; exit 1; }
out=$(docker run --rm -v "$PWD/roles/stack/files/mtail:/progs:ro" -v "$PWD/tests/mtail:/logs:ro" "$mtail_image" \
  --progs /progs --logs /logs/gateway.log --one_shot --one_shot_format prometheus --emit_prog_label=false --logtostderr 2>/dev/null)
expect() {
  grep -qxF "$1" <<<"$out" || { echo "mtail: expected the line: $1"; echo "$out" | grep frontier_gateway; exit 1; }
}
expect 'frontier_gateway_requests_total{api="chat_completions",key="alice",status="200"} 2'
expect 'frontier_gateway_requests_total{api="models",key="bob",status="502"} 1'
expect 'frontier_gateway_requests_total{api="chat_completions",key="-",status="401"} 1'
expect 'frontier_gateway_response_bytes_total{api="chat_completions",key="alice"} 1452'
expect 'frontier_gateway_request_duration_seconds_bucket{api="chat_completions",key="alice",le="1"} 1'
expect 'frontier_gateway_request_duration_seconds_count{api="chat_completions",key="alice"} 2'
# The first upstream's time when Nginx tried two; none for a request that never reached the engine.
expect 'frontier_gateway_upstream_header_seconds_count{api="models",key="bob"} 1'
if grep -q 'frontier_gateway_upstream_header_seconds_count{api="chat_completions",key="-"}' <<<"$out"; then
  echo "mtail: a request that never reached the engine has an upstream time"; exit 1
fi
echo "promtool: mtail's gateway program read $(grep -c frontier_gateway /dev/stdin <<<"$out") series lines ($(docker run --rm "$mtail_image" --version | head -n 1))"
