#!/usr/bin/env bash
# Distributed runs: closed-loop maximum throughput against nginx on loopback of one process (no agents), one
# agent pinned to core 0, two agents pinned to cores 0 and 1 (run --agents N --pin-agents), and — as root,
# where cgroups can be made — one and two agents each held to QUOTA of a core by a CFS quota, as a pod's CPU
# limit holds an agent on EKS (--agent-prefix puts each agent in its own cgroup). Reports requests/s, the
# ratio to one agent, the agents' CPU (cores used), requests per agent CPU-second and the machine's CPU.
# Writes bench/results/agents-<stamp>.md.
#   USERS=128 DURATION=10 ROUNDS=3 QUOTA=0.3 bash bench/agents.sh
# On a 2-core machine the target side (nginx plus the kernel's loopback work) needs about a core at full
# speed, so two unlimited agents cannot double anything: the quota rows are where the generators, not the
# machine, are the limit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
USERS=${USERS:-128}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
QUOTA=${QUOTA:-0.3}
. bench/lib/nginx.sh
bench_start agents
port=$nginx_port
printf 'ok\n' >"$work/nginx/www/index.html"
modes="process agents1 agents2"
. bench/lib/quota.sh
make_quota_cgroups "$work" "$QUOTA" agents
[ -z "$quota_script" ] || modes="$modes quota1 quota2"
cat >"$work/plan.yaml" <<YAML
name: agents-bench
targets: { nginx: { baseUrl: "http://127.0.0.1:$port" } }
scenarios:
  - name: max
    target: nginx
    request: { path: /index.html }
    load: { model: closed, users: $USERS, duration: ${DURATION}s }
YAML
nginx_cpu() { python3 - "$@" <<'PY'
import os, sys
total = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit(): continue
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    if name == "nginx":
        f = stat[stat.rindex(")") + 2:].split()
        total += int(f[11]) + int(f[12])
print(total / os.sysconf("SC_CLK_TCK"))
PY
}
./constellation run "$work/plan.yaml" -o "$work/runs" --run-id warmup -q >/dev/null 2>&1 || true
for r in $(seq "$ROUNDS"); do
  for mode in $modes; do
    case $mode in
      process) cmd=(taskset -c 0 ./constellation run "$work/plan.yaml") ;;
      agents1) cmd=(./constellation run "$work/plan.yaml" --agents 1 --pin-agents) ;;
      agents2) cmd=(./constellation run "$work/plan.yaml" --agents 2 --pin-agents) ;;
      quota1) cmd=(./constellation run "$work/plan.yaml" --agents 1 --agent-prefix "$quota_script {index}") ;;
      quota2) cmd=(./constellation run "$work/plan.yaml" --agents 2 --agent-prefix "$quota_script {index}") ;;
    esac
    before=$(nginx_cpu)
    # Exit 3 is expected: at maximum throughput every agent is saturated, which makes a real run invalid.
    "${cmd[@]}" -o "$work/runs" --run-id "$mode-$r" -q >"$work/$mode-$r.log" 2>&1 || true
    after=$(nginx_cpu)
    echo "$mode $r $before $after" >>"$work/nginx-cpu.txt"
    sleep 2
  done
done
stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p bench/results
python3 - "$work" "$DURATION" "$USERS" "$ROUNDS" "$(/usr/sbin/nginx -v 2>&1)" "$QUOTA" "$modes" >"bench/results/agents-$stamp.md" <<'PY'
import json, sys, platform, statistics, os
work, duration, users, rounds, nginx_version, quota, modes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6]), sys.argv[7].split()
cores = os.cpu_count()
nginx = {}
for line in open(f"{work}/nginx-cpu.txt"):
    mode, r, before, after = line.split()
    nginx[(mode, r)] = float(after) - float(before)
rows = {}
for mode in modes:
    for r in range(1, rounds + 1):
        d = json.load(open(f"{work}/runs/{mode}-{r}/run.json"))
        s = d["scenarios"][0]
        secs = s["seconds"][1:duration]          # whole seconds after the first (connections, JIT)
        rps = sum(x["outcomes"]["status2xx"] for x in secs) / len(secs)
        errors = s["totals"]["outcomes"]["status5xx"] + s["totals"]["outcomes"]["connectionError"] + s["totals"]["outcomes"]["timeout"]
        if d.get("distribution"):
            # The agents' own per-second results go with the run's exchange, which the run deletes at its end, and
            # run.json's merged generator seconds are not one agent's: no per-agent CPU to report.
            agent_cpu = None
        else:
            g = d["generator"]["seconds"][1:duration]
            agent_cpu = [sum(x["cpuPercent"] for x in g) / len(g) * d["environment"]["cores"] / 100]
        gen = d["generator"]["seconds"][1:duration]
        machine = sum((x.get("machineCpuPercent") or 0) for x in gen) / len(gen) * cores / 100
        rows.setdefault(mode, []).append({"rps": rps, "errors": errors, "cpu": agent_cpu, "nginx": nginx[(mode, str(r))], "machine": machine})
def med(xs): return statistics.median(xs)
print(f"# Distributed runs: one agent vs two — {platform.node()}, {cores} cores\n")
print(f"Target: nginx {nginx_version.split('/')[-1]} (1 worker, unpinned, static 3-byte file, keep-alive) on loopback. Closed model, {users} users in all")
print(f"(split between the agents), {duration} s per run, {rounds} rounds; medians. rps = 2xx per second over the whole seconds after the")
print("first. Agent CPU = the generator's mean CPU in those seconds, in cores (– with agents: their own seconds go with the run's")
print("exchange). rps per agent core = rps / the generator's cores.")
print("nginx CPU = nginx's own CPU seconds / the load's length, in cores (the kernel's loopback work is mostly not in it). Machine")
print("CPU = all cores busy, in cores. Quota rows: each agent in its own cgroup with a CFS quota of " + f"{quota:g} of a core (a pod's CPU limit).")
print("At maximum throughput every generator is")
print("saturated by design, so these runs end with exit 3 (invalid) — a real run in that state would be flagged the same way.\n")
print("| mode | rps | vs one agent alike | agent CPU (cores, each) | rps per agent core | nginx CPU (cores) | machine CPU (cores) | errors |")
print("|---|---:|---:|---|---:|---:|---:|---:|")
names = {"process": "one process, no agents (taskset -c 0)", "agents1": "--agents 1 --pin-agents (core 0)", "agents2": "--agents 2 --pin-agents (cores 0, 1)",
         "quota1": f"--agents 1, {quota:g}-core quota", "quota2": f"--agents 2, {quota:g}-core quota each"}
for mode in modes:
    base = med([x["rps"] for x in rows["quota1" if mode.startswith("quota") else "agents1"]])
    rs = rows[mode]
    rps = med([x["rps"] for x in rs])
    cpus = [med([x["cpu"][i] for x in rs]) for i in range(len(rs[0]["cpu"]))] if rs[0]["cpu"] else []
    per_core = med([x["rps"] / sum(x["cpu"]) for x in rs]) if rs[0]["cpu"] else None
    nginx_cores = med([x["nginx"] / duration for x in rs])
    machine = med([x["machine"] for x in rs])
    cpu_text = ', '.join(f'{c:.2f}' for c in cpus) if cpus else '–'
    per_core_text = f"{per_core:,.0f}" if per_core is not None else '–'
    print(f"| {names[mode]} | {rps:,.0f} | {rps / base:.2f}× | {cpu_text} | {per_core_text} | {nginx_cores:.2f} | {machine:.2f} | {sum(x['errors'] for x in rs)} |")
print("\nEvery round: " + "; ".join(f"{m} " + ", ".join(f"{x['rps']:,.0f}" for x in rows[m]) for m in rows) + " rps.")
PY
cat "bench/results/agents-$stamp.md"
