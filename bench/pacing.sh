#!/usr/bin/env bash
# Pacing accuracy of the open model: for each rate, run `constellation run` against SpinService's webapp
# on loopback and read run.json: requests started vs planned, the worst single second, the generator's
# steady CPU and the pacer's worst lag. Writes bench/results/pacing-<stamp>.md.
#   RATES="10 100 1000 10000" DURATION=10 bash bench/pacing.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
RATES=${RATES:-"10 100 1000 10000"}
DURATION=${DURATION:-10}
work=$(mktemp -d /tmp/constellation-pacing.XXXXXX)
./constellation --version >/dev/null   # builds if needed
spin_dll=artifacts/bin/Constellation.SpinService/release_linux-x64/Constellation.SpinService.dll
ASPNETCORE_URLS=http://127.0.0.1:0 Role=webapp dotnet "$spin_dll" >"$work/webapp.log" 2>&1 &
target_pid=$!
trap 'kill $target_pid 2>/dev/null || true; wait $target_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q SPINSERVICE_READY "$work/webapp.log" && break; sleep 0.1; done
url=$(grep -o 'url=[^ ]*' "$work/webapp.log" | head -1 | cut -d= -f2)
case "$url" in http://127.0.0.1:*) ;; *) echo "pacing: target did not start on loopback" >&2; exit 1;; esac
for r in $RATES; do
  cat >"$work/plan-$r.yaml" <<YAML
name: pacing-$r
targets: { webapp: { baseUrl: "$url" } }
scenarios:
  - name: paced
    target: webapp
    load: { model: open, rate: $r, duration: ${DURATION}s }
YAML
  ./constellation run "$work/plan-$r.yaml" -o "$work/runs" --run-id "r$r" -q >/dev/null 2>&1
done
stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p bench/results
python3 - "$work/runs" "$DURATION" $RATES >"bench/results/pacing-$stamp.md" <<'PY'
import json, sys, platform
runs, duration, rates = sys.argv[1], int(sys.argv[2]), [int(r) for r in sys.argv[3:]]
print(f"# Open-model pacing accuracy — {platform.node()}, {duration} s per rate, target SpinService webapp on loopback\n")
print("Achieved = requests started / planned duration. Worst second = largest |started − planned| / planned over")
print("whole seconds after the first (an arrival due just before a boundary and sent just after it moves one")
print("request between neighbouring seconds). CPU = generator process, share of all cores, mean of steady seconds.\n")
print("| planned req/s | started | planned | achieved req/s | error | worst second | generator CPU % | max pacer lag ms | p50 ms | p99 ms |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rates:
    d = json.load(open(f"{runs}/r{r}/run.json"))
    s = d["scenarios"][0]
    secs = s["seconds"][:duration]
    started = sum(x["started"] for x in secs)
    planned = r * duration
    worst = max(abs(x["started"] - x["offered"]) / x["offered"] for x in secs[1:duration])
    g = d["generator"]["seconds"][1:duration]
    cpu = sum(x["cpuPercent"] for x in g) / len(g)
    lag = max(x["pacerLagMaxMs"] for x in g)
    l = s["totals"]["latency"]
    print(f"| {r:,} | {started:,} | {planned:,} | {started/duration:,.1f} | {abs(started-planned)/planned*100:.2f}% | {worst*100:.1f}% | {cpu:.1f} | {lag:.2f} | {l['p50Ms']:.3f} | {l['p99Ms']:.3f} |")
PY
cat "bench/results/pacing-$stamp.md"
