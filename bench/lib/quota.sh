# Sourced by the benchmarks. make_quota_cgroups WORK QUOTA NAME: two cgroup-v1 CPU groups (agent0, agent1), each
# held to QUOTA of a core by a CFS quota (as a pod's CPU limit holds an agent), and WORK/in-cgroup.sh I CMD…, which
# runs CMD in group I (for run --agent-prefix "WORK/in-cgroup.sh {index}"). Sets quota_script (empty where
# /sys/fs/cgroup/cpu is not writable: run as root) and appends the groups to cgroups (rmdir them when done).
make_quota_cgroups() {
  local work=$1 quota=$2 name=$3 i g
  quota_script=""
  if [ ! -w /sys/fs/cgroup/cpu ]; then
    echo "$name bench: /sys/fs/cgroup/cpu is not writable (run as root for the CPU-quota rows)" >&2
    return 0
  fi
  for i in 0 1; do
    g=/sys/fs/cgroup/cpu/constellation-$name-$$-agent$i
    mkdir "$g" && cgroups="${cgroups:-} $g"
    echo "$(awk -v q="$quota" 'BEGIN { printf "%d", q * 100000 }')" >"$g/cpu.cfs_quota_us"   # of a 100 ms period
  done
  printf '#!/bin/sh\necho $$ > /sys/fs/cgroup/cpu/constellation-%s-%s-agent$1/cgroup.procs\nshift\nexec "$@"\n' "$name" $$ >"$work/in-cgroup.sh"
  chmod +x "$work/in-cgroup.sh"
  quota_script="$work/in-cgroup.sh"
}
