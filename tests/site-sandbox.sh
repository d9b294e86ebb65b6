#!/usr/bin/env bash
# The README's main command, as a newcomer runs it: `make site` with no arguments must take the
# sandbox host from nothing to a completion through Nginx; a second run must change nothing;
# `make sandbox-key` must print a key that works from this machine; the fault suite (tests/faults.py) must
# hold; `make destroy-sandbox` must remove the sandbox and nothing else. Real components throughout: the sandbox's own
# Docker engine, Debian's nginx, llama.cpp's llama-server and the SmolLM2 model.
# shellcheck disable=SC2015  # pass and fail always return 0, so A && pass || fail is an if-then-else
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp -d /tmp/frontier-site.XXXXXX)
failures=0
fail() { echo "site-sandbox: FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "site-sandbox: ok: $*"; }
url=https://127.0.0.1:8443
ca=plans/certs/frontier-sandbox.pem

# A container that is not the sandbox: destroy-sandbox must leave it alone.
docker rm -f frontier-sandbox-bystander >/dev/null 2>&1
docker run -d --name frontier-sandbox-bystander --label org.frontier-llm.sandbox=true \
  "${FRONTIER_TEST_IMAGE_DEBIAN13:-frontier-llm/systemd:debian13}" sleep infinity >/dev/null

make -s destroy-sandbox >"$log/destroy0.log" 2>&1 || { tail -n 30 "$log/destroy0.log"; fail "destroy-sandbox before the run"; }
rm -rf plans

start=$(date +%s)
if make site >"$log/site1.log" 2>&1; then
  first=$(( $(date +%s) - start ))
  pass "make site from no sandbox in ${first}s"
else
  tail -n 60 "$log/site1.log"
  fail "make site (log above)"
  exit 1
fi
completion=$(grep -o "Test completion: .*" "$log/site1.log" | head -n 1 | sed "s/^Test completion: //; s/[\"']*,*$//")
if [ -n "${completion// }" ]; then pass "the run printed a completion made through Nginx: $completion"; else fail "no test completion printed"; fi
grep -q "curl --cacert $PWD/$ca" "$log/site1.log" && pass "the run printed a curl line with the certificate" \
  || fail "no curl line naming $ca"
[ -s "$ca" ] || fail "the certificate was not copied to $ca"
python3 - <<'PY' && pass "plans/plan.json holds the applied plan of frontier-sandbox" || fail "plans/plan.json"
import json
plan = json.load(open("plans/plan.json"))["frontier-sandbox"]
assert plan["engine"] == "llamacpp" and plan["fits"], plan
assert plan["resident_models"] == ["smollm2-135m-instruct"], plan["resident_models"]
PY

key=$(make -s sandbox-key)
[[ "$key" =~ ^[A-Za-z0-9_-]{32,}$ ]] && pass "make sandbox-key printed a key alone" || fail "make sandbox-key printed '$key'"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" -H "Authorization: Bearer $key" "$url/v1/models")
[ "$code" = 200 ] && pass "the key works from this machine (GET /v1/models: 200)" || fail "with the key: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" "$url/v1/models")
[ "$code" = 401 ] && pass "without a key: 401" || fail "without a key: HTTP $code"
published=$(docker port frontier-sandbox)
[ "$published" = "443/tcp -> 127.0.0.1:8443" ] && pass "only Nginx's HTTPS is published, on loopback ($published)" \
  || fail "published ports: $published"

start=$(date +%s)
if make site >"$log/site2.log" 2>&1; then
  second=$(( $(date +%s) - start ))
  recap=$(grep -cE '^(localhost|frontier-sandbox) +: ' "$log/site2.log")
  changed=$(grep -E '^(localhost|frontier-sandbox) +: ' "$log/site2.log" | grep -v 'changed=0' || true)
  # Both hosts' recap lines must be there: no recap is no proof of changed=0.
  if [ "$recap" = 2 ] && [ -z "$changed" ]; then pass "second make site: changed=0 in ${second}s (first ${first}s)"; else fail "second run: $recap recap lines, changed: $changed"; fi
else
  tail -n 40 "$log/site2.log"; fail "second make site"
fi

# Two more user keys for the fault suite's load row (four keys with the operator's), added to the running stack.
keys='{"stack_api_keys": [{"name": "default"}, {"name": "faults-a"}, {"name": "faults-b"}]}'
if make site ARGS="-e '$keys'" >"$log/site-keys.log" 2>&1 \
    && docker exec frontier-sandbox cat /opt/frontier-llm/secrets/api_keys.json | python3 -c \
      'import json, sys; names = sorted(json.load(sys.stdin)); assert names == ["default", "faults-a", "faults-b", "frontier-ops"], names'; then
  pass "two keys added to the running stack (four with the operator's)"
else
  tail -n 30 "$log/site-keys.log"; fail "adding two keys"
fi

# The fault suite on the same sandbox (tests/faults.py): the engine killed during open streams, Nginx reloaded during
# open streams, the host's Docker engine restarted, a load run, a full disk during a model download and requests
# beyond the plan; it prints its table of figures.
if .venv/bin/python tests/faults.py --host frontier-sandbox --url "$url" --ca "$ca" >"$log/faults.log" 2>&1; then
  pass "the fault suite held"
else
  fail "the fault suite (its table below)"
fi
sed -n '/^faults: the table/,$p' "$log/faults.log"

# A changed setting recreates the sandbox container; like a rebooted host it keeps its disk (volumes), and the
# stack must come back healthy with its keys.
if make site ARGS='-e sandbox_https_bind=127.0.0.2' >"$log/site3.log" 2>&1; then
  [ "$(docker port frontier-sandbox)" = "443/tcp -> 127.0.0.2:8443" ] && pass "a recreated sandbox (bind 127.0.0.2) is healthy again" \
    || fail "the sandbox was not recreated on 127.0.0.2: $(docker port frontier-sandbox)"
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" --resolve "localhost:8443:127.0.0.2" \
         -H "Authorization: Bearer $key" "https://localhost:8443/v1/models")
  [ "$code" = 200 ] && pass "the same key still works after the recreation" || fail "after the recreation, with the key: HTTP $code"
else
  tail -n 40 "$log/site3.log"; fail "make site after a changed setting"
fi

make -s destroy-sandbox >"$log/destroy.log" 2>&1 || { tail -n 20 "$log/destroy.log"; fail "make destroy-sandbox"; }
docker inspect frontier-sandbox >/dev/null 2>&1 && fail "the sandbox still exists" || pass "destroy-sandbox removed the sandbox"
for volume in docker stack data; do
  docker volume inspect "frontier-sandbox-$volume" >/dev/null 2>&1 && fail "its volume $volume still exists" || pass "and its volume $volume"
done
docker inspect frontier-sandbox-bystander >/dev/null 2>&1 && pass "and left another container alone" || fail "the bystander is gone"
docker rm -f frontier-sandbox-bystander >/dev/null 2>&1

echo "site-sandbox: first run ${first:-?}s, second run ${second:-?}s; logs in $log"
[ "$failures" = 0 ] || { echo "site-sandbox: $failures check(s) failed"; exit 1; }
echo "site-sandbox: all checks passed"
