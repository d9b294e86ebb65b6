#!/bin/sh
# Streams chat completions through the gateway, back to back, until /tmp/streams.stop exists. One line per stream
# in /tmp/streams.log: start and end (epoch seconds), HTTP status, and whether the stream ended with [DONE].
# Usage: streams.sh LOOP-NAME (two loops run at once, so one stream is always open).
set -u
name=$1
root=/opt/frontier-llm
key=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["alice"]["key"])' "$root/secrets/api_keys.json")
body='{"model": "smollm2-135m-instruct", "stream": true, "max_tokens": 160, "ignore_eos": true, "temperature": 0,
       "messages": [{"role": "user", "content": "Count from one to one hundred in words."}]}'
n=0
while [ ! -e /tmp/streams.stop ]; do
  n=$((n + 1))
  out=/tmp/stream-$name-$n.out
  start=$(date +%s.%N)
  code=$(curl -sS -N -o "$out" -w '%{http_code}' -m 300 --cacert "$root/nginx/tls/cert.pem" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$body" \
    https://127.0.0.1/v1/chat/completions 2>>"$out.err") || code="curl-$?"
  end=$(date +%s.%N)
  if grep -q '^data: \[DONE\]' "$out" 2>/dev/null; then ending='done'; else ending='cut'; fi
  echo "$name-$n $start $end $code $ending" >> /tmp/streams.log
done
