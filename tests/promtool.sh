#!/usr/bin/env bash
# The stack's Prometheus rules checked by Debian's promtool (the frontier-llm/prometheus image that
# `make images` builds): `promtool check rules` on every rule file, then `promtool test rules` on
# tests/prometheus/rules_test.yml (each alert fires on its input and stays silent on a healthy series).
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
echo "promtool: rules checked and tested with $(run --version 2>&1 | head -n 1)"
