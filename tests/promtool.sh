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
# Every dashboard panel's PromQL, as recording rules, so promtool parses each expression.
panels=$(mktemp -d)
trap 'rm -rf "$panels"' EXIT
python3 - roles/stack/files/grafana/dashboards "$panels/panels.yml" <<'PY'
import glob, json, sys
rules = []
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    for panel in json.load(open(path))["panels"]:
        for target in panel["targets"]:
            rules.append({"record": "dashboard:panel_%d:check" % len(rules), "expr": target["expr"]})
json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, open(sys.argv[2], "w"))
print("promtool: %d dashboard expressions" % len(rules))
PY
chmod 0755 "$panels" && chmod 0644 "$panels/panels.yml"
docker run --rm --entrypoint promtool -v "$panels:/panels:ro" "$image" check rules /panels/panels.yml
echo "promtool: rules checked and tested with $(run --version 2>&1 | head -n 1)"
