#!/usr/bin/env bash
# The cost of request checks (request.expect): closed-loop maximum throughput against nginx on loopback with
# no checks, with a status check, and with bodyContains on a 4 KiB page (the body is kept and searched).
# Rounds alternate the three so drift hits them alike. Reports requests/s and the ratio to no checks.
# Writes bench/results/checks-<stamp>.md.
#   USERS=64 DURATION=10 ROUNDS=3 bash bench/checks.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
USERS=${USERS:-64}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
. bench/lib/nginx.sh
bench_start checks
port=$nginx_port
python3 -c 'print("x" * 4000 + " spun for 2000 ms")' >"$work/nginx/www/index.html"
declare -A expect=([none]="" [status]="expect: { status: [200] }" [body]="expect: { status: [200], bodyContains: [spun] }")
for mode in none status body; do
  cat >"$work/$mode.yaml" <<YAML
name: checks-bench-$mode
targets: { nginx: { baseUrl: "http://127.0.0.1:$port" } }
scenarios:
  - name: max
    target: nginx
    request: { path: /index.html, ${expect[$mode]} }
    load: { model: closed, users: $USERS, duration: ${DURATION}s }
YAML
done
declare -A sum=()
for r in $(seq "$ROUNDS"); do
  for mode in none status body; do
    ./constellation run "$work/$mode.yaml" -o "$work/runs" --run-id "$mode-$r" -q >/dev/null
    rps=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["scenarios"][0]["totals"]; assert t["outcomes"]["checkFailed"] == 0, t; print(round(t["rps"]))' "$work/runs/$mode-$r/run.json")
    echo "round $r $mode: $rps req/s" >&2
    sum[$mode]=$(( ${sum[$mode]:-0} + rps ))
  done
done
stamp=$(date -u +%Y%m%d-%H%M%S)
out="bench/results/checks-$stamp.md"
{
  echo "# Request checks: cost in closed-loop throughput ($stamp UTC)"
  echo
  echo "nginx on loopback, 4 KiB page, $USERS users, ${DURATION} s × $ROUNDS rounds (alternating), $(nproc) cores. Mean of the rounds."
  echo
  echo "| checks | req/s | ratio to none |"
  echo "|---|---:|---:|"
  for mode in none status body; do
    awk -v m="$mode" -v s="${sum[$mode]}" -v n="${sum[none]}" -v r="$ROUNDS" 'BEGIN { printf "| %s | %d | %.2f |\n", m, s / r, s / n }'
  done
} >"$out"
cat "$out"
