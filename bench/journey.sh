#!/usr/bin/env bash
# What a journey costs the generator: the same five-request sequence against nginx on loopback, plain (no cookies,
# no data, no extraction) and as a journey (a cookie jar, one extraction from a JSON answer, a data row per
# iteration in the login body, the extracted token in the later requests' headers). Generator pinned to core 0,
# nginx to core 1; closed model at full speed. Rounds alternate the two so drift hits them alike. Reports the
# generator's CPU per 1,000 requests (run.json generator.cost) and requests/s, and the journey's ratio to plain.
# Writes bench/results/journey-<stamp>.md.
#   USERS=32 DURATION=10 ROUNDS=3 bash bench/journey.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
USERS=${USERS:-32}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
. bench/lib/nginx.sh
export NGINX_LOCATIONS='location = /login { default_type application/json; add_header Set-Cookie "sid=s-1; Path=/; HttpOnly"; return 200 "{\"token\":\"t-123\",\"user\":\"u\"}"; } location /step { default_type text/plain; return 200 "ok"; }'
bench_start journey
port=$nginx_port
taskset -pc 1 "$nginx_pid" >/dev/null
python3 -c 'print("user,password"); [print(f"user{i},pw{i}") for i in range(1000)]' >"$work/users.csv"
for mode in plain journey; do
  if [ "$mode" = journey ]; then
    extra='    data: { file: users.csv }'
    login_extract='        extract: [{ name: token, json: $.token }]'
    auth='Bearer ${vars.token}'
    body='{"user":"${data.user}","password":"${data.password}"}'
  else
    extra='    cookies: false'
    login_extract=''
    auth='Bearer t-123'
    body='{"user":"user1","password":"pw1"}'
  fi
  cat >"$work/$mode.yaml" <<YAML
name: journey-bench-$mode
targets: { nginx: { baseUrl: "http://127.0.0.1:$port" } }
scenarios:
  - name: shop
    target: nginx
$extra
    requests:
      - name: login
        method: POST
        path: /login
        headers: { Content-Type: application/json }
        body: '$body'
$login_extract
      - { name: a, path: /step/a, headers: { Authorization: "$auth" } }
      - { name: b, path: /step/b, headers: { Authorization: "$auth" } }
      - { name: c, path: /step/c, headers: { Authorization: "$auth" } }
      - { name: d, path: /step/d, headers: { Authorization: "$auth" } }
    load: { model: closed, users: $USERS, duration: ${DURATION}s }
YAML
done
declare -A cpu=() rps=()
for r in $(seq "$ROUNDS"); do
  for mode in plain journey; do
    taskset -c 0 ./constellation run "$work/$mode.yaml" -o "$work/runs" --run-id "$mode-$r" -q >/dev/null
    read -r c q < <(python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
s = run["scenarios"][0]
o = s["totals"]["outcomes"]
assert o["status2xx"] == s["totals"]["requests"] and o["checkFailed"] == 0, o
print(run["generator"]["cost"][0]["cpuMsPer1kRequests"], s["totals"]["rps"])' "$work/runs/$mode-$r/run.json")
    echo "round $r $mode: $c CPU-ms per 1k requests, $q req/s" >&2
    cpu[$mode]=$(python3 -c "print(${cpu[$mode]:-0} + $c)")
    rps[$mode]=$(python3 -c "print(${rps[$mode]:-0} + $q)")
  done
done
stamp=$(date -u +%Y%m%d-%H%M%S)
out="bench/results/journey-$stamp.md"
{
  echo "# A five-request journey's cost to the generator ($stamp UTC)"
  echo
  echo "nginx (1 worker, core 1) on loopback; the generator on core 0; $USERS users, closed model, ${DURATION} s × $ROUNDS rounds (alternating), $(nproc) cores. Mean of the rounds."
  echo "Journey: cookie jar on (nginx sets one cookie on login), one JSON extraction (the token), a data row per iteration (1,000-row CSV) in the login body, the token in the four later requests' headers. Plain: the same requests with the values written in and cookies off."
  echo
  echo "| sequence | CPU-ms per 1k requests | req/s | CPU ratio to plain |"
  echo "|---|---:|---:|---:|"
  for mode in plain journey; do
    python3 -c "print(f'| $mode | {${cpu[$mode]}/$ROUNDS:.1f} | {${rps[$mode]}/$ROUNDS:.0f} | {${cpu[$mode]}/${cpu[plain]}:.2f} |')"
  done
  echo
  echo "Goal (issue 21): the journey costs at most 1.5× the plain sequence's CPU per request."
} >"$out"
cat "$out"
