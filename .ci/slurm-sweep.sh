#!/usr/bin/env bash
# A real Slurm run of a sweep, for CI (.ci/run calls it after make test; it
# is not part of make test). As root it installs Debian's slurm-wlm and
# munge, starts munged and a one-node cluster on this machine (slurmctld and
# slurmd on localhost, with their own config, state and ports under a
# temporary folder), submits a small sweep as a 4-task job array with the
# script `dais sweep slurm` writes, waits for the array to end, merges the
# shards and checks the merged tables and report equal a local run of the
# same sweep byte for byte. If the daemons cannot start, it says why and
# fails: it never skips.
#
#   sudo .ci/slurm-sweep.sh        # or: make slurm-test
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { echo "slurm-sweep: $*"; }
fail() {
	echo "slurm-sweep: FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "must run as root: it installs slurm-wlm and munge and starts their daemons"

need=()
for cmd in slurmctld slurmd sbatch squeue scontrol sinfo munged munge unmunge; do
	command -v "$cmd" >/dev/null 2>&1 || need=(slurm-wlm munge)
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	command -v apt-get >/dev/null 2>&1 || fail "slurm-wlm and munge are not installed and there is no apt-get to install them"
	apt-get update -qq || fail "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge failed"
fi

work=$(mktemp -d /tmp/dais-slurm.XXXXXX)
pids=()
munged_started=
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		# Bounded: a daemon that ignores SIGTERM for 10 s gets SIGKILL.
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	if [ -n "$munged_started" ] && [ -f /run/munge/munged.pid ]; then
		kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ]; then
		for log in "$work"/slurmctld.log "$work"/slurmd.log; do
			[ -f "$log" ] && { echo "--- last lines of $log"; tail -n 30 "$log"; }
		done
		for out in "$work"/out/slurm/*.out; do
			[ -f "$out" ] && { echo "--- $out"; tail -n 20 "$out"; }
		done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every half second
# until it succeeds, or fails after SECONDS.
wait_for() {
	local what=$1 limit=$2
	shift 2
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.5
	done
	say "$what after $((SECONDS - deadline + limit)) s"
}

# munge: Slurm's daemons and commands authenticate with it.
munge_ok() { munge -n | unmunge | grep -q 'STATUS: *Success'; }
if munge_ok 2>/dev/null; then
	say "munged is running"
else
	install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
	install -d -o munge -g munge -m 0755 /run/munge
	if [ ! -s /etc/munge/munge.key ]; then
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
	fi
	chown munge:munge /etc/munge/munge.key
	chmod 0400 /etc/munge/munge.key
	munged --force 2>"$work/munged.err" || fail "munged did not start: $(cat "$work/munged.err")"
	munged_started=1
	wait_for "munged answers" 20 munge_ok || fail "munged started but munge -n | unmunge does not succeed: $(munge -n 2>&1 | unmunge 2>&1 | head -5)"
fi

# The cluster: this host is the controller and the one compute node. Its
# config, state and logs live in $work, on ports of its own, so that a
# Slurm already on the machine is left alone; addresses are 127.0.0.1, so
# nothing depends on how the host name resolves.
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
# Two free ports: a controller left over from a killed run keeps its own.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=16817
while listening $port || listening $((port + 1)); do
	port=$((port + 2))
	[ $port -lt 16917 ] || fail "no two free ports between 16817 and 16917 on 127.0.0.1"
done
export SLURM_CONF=$work/slurm.conf
mkdir -p "$work/state" "$work/spool"
cat >"$SLURM_CONF" <<EOF
ClusterName=dais-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

say "starting slurmctld and slurmd ($host, $cpus CPUs, ports $port and $((port + 1)))"
slurmctld -D -i >"$work/slurmctld.stdout" 2>&1 &
pids+=($!)
wait_for "slurmctld answers" 60 scontrol ping || fail "slurmctld did not answer scontrol ping within 60 s: $(tail -n 5 "$work/slurmctld.log" "$work/slurmctld.stdout" 2>/dev/null)"
slurmd -D >"$work/slurmd.stdout" 2>&1 &
pids+=($!)
node_idle() { sinfo -h -n "$host" -o %t | grep -qx idle; }
wait_for "node $host is idle" 60 node_idle || fail "node $host is not idle within 60 s (state: $(sinfo -h -n "$host" -o %t 2>&1)): $(tail -n 5 "$work/slurmd.log" "$work/slurmd.stdout" 2>/dev/null)"

# dais, and a small sweep: 8 points × 2 repetitions of quickstart.
say "building dais"
go build -o "$work/dais" ./cmd/dais
cat >"$work/sweep.yaml" <<EOF
name: slurm-ci
base: quickstart
seed: 7
repetitions: 2
set:
  run.duration: 30s
  population.nodes: 120
axes:
  - key: protocol.gossip.degree
    values: [3, 4, 6, 8]
  - key: network.loss
    values: [0, 1%]
objectives:
  - {figure: propagation_ms_p50, goal: minimize}
  - {figure: messages_sent, goal: minimize}
EOF

cd "$work"
./dais sweep slurm sweep.yaml -n 4 -o job.sbatch --out-dir "$work/out" --dais "$work/dais"
grep -q '^#SBATCH --array=0-3$' job.sbatch || fail "the script dais wrote has no --array=0-3: $(cat job.sbatch)"
job=$(sbatch --parsable job.sbatch) || fail "sbatch refused the script"
job=${job%%;*}
say "submitted job array $job"
array_done() { [ -z "$(squeue -h -j "$job" 2>/dev/null)" ]; }
wait_for "job $job has left the queue" 600 array_done || fail "job $job still queued or running after 600 s: $(squeue -j "$job" 2>&1)"

# Every task of the array completed with exit code 0.
states=$(scontrol -o show job "$job" | grep -o 'ArrayTaskId=[0-9]* .*JobState=[A-Z_]*' | sed -E 's/ArrayTaskId=([0-9]+) .*JobState=([A-Z_]+)/\1:\2/' | sort)
codes=$(scontrol -o show job "$job" | grep -o 'ExitCode=[0-9]*:[0-9]*' | sort -u)
say "tasks: $(echo $states) $(echo $codes)"
[ "$(echo "$states" | grep -c ':COMPLETED$')" = 4 ] || fail "want 4 COMPLETED tasks, got: $states"
[ "$codes" = "ExitCode=0:0" ] || fail "a task exited non-zero: $codes"
for i in 0 1 2 3; do
	grep -q "shard $i/4" out/slurm/"${job}_$i".out || fail "task $i's log does not say it ran shard $i/4: $(cat out/slurm/"${job}_$i".out)"
done

./dais sweep merge out
./dais sweep run sweep.yaml -o local -j 2 -q
for f in table.csv table.jsonl summary.csv summary.jsonl sweep.json report.md report.html; do
	cmp "out/$f" "local/$f" || fail "$f from the Slurm array differs from the local run's"
done
rows=$(($(wc -l <out/table.csv) - 1))
say "PASS: the 4-task Slurm array's merged sweep ($rows rows) equals the local run byte for byte"
cd "$repo"
