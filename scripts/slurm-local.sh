#!/usr/bin/env bash
# A throwaway single-node Slurm cluster (slurmctld + slurmd + its own munged)
# whose whole state lives in one directory, for testing `gdask submit slurm`
# for real in CI or by hand.
#
# Usage: scripts/slurm-local.sh start DIR   start the cluster; print env lines
#        scripts/slurm-local.sh env DIR     print the env lines again
#        scripts/slurm-local.sh stop DIR    cancel its jobs, stop its daemons
#
# DIR is a directory the caller makes (mktemp -d) and removes after `stop`.
# `start` prints, on stdout only, the lines to eval so that sbatch, squeue,
# scontrol and scancel in that shell talk to this cluster:
#   export SLURM_CONF=DIR/slurm.conf
# Everything else (progress, the seconds until the node was idle, and the
# daemons' logs on failure) goes to stderr.
#
# Needs root and Debian's slurm-wlm and munge packages:
#   apt-get install -y --no-install-recommends slurm-wlm munge
# (start installs nothing; it says what is missing and fails.)
#
# Environment (start):
#   SLURM_LOCAL_PORT=N     SlurmctldPort N, SlurmdPort N+1 (default: a free
#                          pair picked from DIR's checksum)
#   SLURM_LOCAL_CPUS=2     the node's CPUs
#   SLURM_LOCAL_TIMEOUT=60 seconds to wait for the node to be idle
#
# Example session:
#   $ dir=$(mktemp -d)
#   $ eval "$(scripts/slurm-local.sh start "$dir")"
#   slurm-local: node vm idle after 1.1s (ports 37060/37061)
#   $ sinfo
#   PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST
#   debug*       up   infinite      1   idle vm
#   $ cd "$dir" && sbatch --wait --wrap 'hostname' && cat slurm-*.out
#   Submitted batch job 1
#   vm
#   $ scripts/slurm-local.sh stop "$dir" && rm -rf "$dir"
#
# What lives in DIR:
#   slurm.conf, cgroup.conf   the configuration (cgroup.conf is not used:
#                             TaskPlugin=task/none and proctrack/linuxproc)
#   munge/                    munge.key, munge.socket, munged.{pid,log,seed}
#   state/, spool/            StateSaveLocation, SlurmdSpoolDir
#   log/                      slurmctld.log, slurmd.log, jobcomp.log
#   run/                      slurmctld.pid, slurmd.pid
#   env                       the env lines `env` prints
#
# Seeing jobs: there is no slurmdbd, so `sacct` does not work. Use
#   squeue                     pending and running jobs, with the reason
#                              (Dependency, JobArrayTaskLimit, Resources,
#                              DependencyNeverSatisfied)
#   scontrol -o show job ID    any job, finished ones too, one line per
#                              record (per task for an array): JobState=
#                              COMPLETED / FAILED / CANCELLED / TIMEOUT and
#                              ExitCode=code:signal; finished jobs are kept
#                              for MinJobAge=3600 s
#   DIR/log/jobcomp.log        one line per finished job (jobcomp/filetxt),
#                              with JobState= and ExitCode=, for good
#
# Waiting for a job: `sbatch --wait` works here: it returns when the job
# (every task of an array) has ended, with its exit code (an array's
# highest). But it polls ever more slowly and returns up to ~15 s after the
# end, so CI should poll scontrol instead, e.g.
#   # wait_job ID: wait until job ID (every task of an array) has ended;
#   # succeed if every record COMPLETED; fail at once on a dependency
#   # that can never be satisfied.
#   wait_job() {
#     local out
#     while out=$(scontrol -o show job "$1"); do
#       case $out in
#       *Reason=DependencyNeverSatisfied*) return 1 ;;
#       *JobState=PENDING* | *JobState=RUNNING* | *JobState=COMPLETING* | \
#         *JobState=CONFIGURING* | *JobState=REQUEUED*) sleep 0.5 ;;
#       *) ! grep -qv 'JobState=COMPLETED ' <<<"$out"; return ;;
#       esac
#     done
#     return 1
#   }
# A job with --dependency=afterok:ID whose dependency failed is not
# cancelled: it stays PENDING with Reason=DependencyNeverSatisfied (a second
# or so after the failure) until `scancel`. To redo only a failed array
# task: `sbatch --array=2 SCRIPT` (a new job id), then either scancel the
# stuck merge and submit it again with afterok on the new id, or point it at
# the new job: `scontrol update JobId=MERGE Dependency=afterok:NEW`.
# (`scontrol requeue ARRAY_2` is no shortcut: the requeued task waits about
# two minutes before it may start, and the merge's dependency stays failed.)
# A job over its --mem is killed within JobAcctGatherFrequency (2 s):
# JobState=FAILED, ExitCode=0:9, "exceeded memory limit" in its output.
# --time is enforced: JobState=TIMEOUT, within about 30 s after the limit.
#
# Quirks handled:
#   - munged runs as root with its socket, key, pid, log and seed files in
#     DIR/munge; Slurm is pointed at that socket by AuthInfo=socket=... in
#     slurm.conf (used by auth/munge and cred/munge, the daemons and the
#     commands alike), so the system's munged, if any, is neither needed nor
#     touched.
#   - ports: SlurmctldPort/SlurmdPort are a pair of free ports picked from
#     DIR's checksum (or SLURM_LOCAL_PORT and the one after it), so
#     clusters for different DIRs and a real Slurm can share the machine.
#   - the node is this host's short name; SlurmctldHost and NodeAddr say
#     127.0.0.1, so the host name need not resolve.
#   - munged refuses a socket whose directories are not searchable by
#     all: start does chmod go+x DIR (mktemp -d makes it 0700) and makes
#     DIR/munge 0711 (the key in it stays root's, 0400).
#   - containers: no cgroups (task/none, proctrack/linuxproc); --mem is
#     accounted by select/cons_tres (CR_Core_Memory) and enforced by
#     jobacct_gather/linux's OverMemoryKill, polled every 2 s, so a job over
#     its --mem is killed within a poll, not at once. A job without --mem
#     gets DefMemPerCPU (the node's memory / CPUs) so that two one-CPU jobs
#     fit side by side (the default would give each the whole node).
#   - a job's processes that daemonize escape proctrack/linuxproc: stop
#     cancels every job, waits for this DIR's slurmstepd processes to end,
#     and kills any process left whose environment has this DIR's
#     SLURM_CONF and a SLURM_JOB_ID, before stopping slurmd, slurmctld and
#     munged (all three at once: one after the other takes seconds).
#   - the daemons run as root (SlurmUser=root); jobs run as whoever
#     submitted them. Harmless noise in the logs: "can not load PMIx
#     library" (libpmix is not installed; MpiDefault=none), "Job accounting
#     information gathered, but not stored", and munged's "Unauthorized
#     credential for client UID=0".

set -euo pipefail

prog=slurm-local
sbin_dirs=(/usr/sbin /sbin /usr/bin)

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	say "$*"
	exit 1
}

usage() {
	sed -n '2,/^# What lives/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# find_bin NAME: the path of a daemon (they live in /usr/sbin, which a
# non-login root shell may not have in PATH).
find_bin() {
	local d
	if command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
		return
	fi
	for d in "${sbin_dirs[@]}"; do
		if [[ -x $d/$1 ]]; then
			printf '%s\n' "$d/$1"
			return
		fi
	done
	return 1
}

# alive PIDFILE NAME: the pid in PIDFILE if that process is running and is
# NAME (a pid file left behind may name a pid reused by another program).
alive() {
	local pid comm
	[[ -s $1 ]] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[[ -n $pid ]] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	[[ $comm == "$2"* ]] || return 1
	printf '%s\n' "$pid"
}

# port_busy PORT: something listens on 127.0.0.1:PORT.
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stepds DIR: pids of the slurmstepd processes of this DIR's slurmd (they
# keep its log, DIR/log/slurmd.log, open).
stepds() {
	local p
	for p in /proc/[0-9]*; do
		[[ $(cat "$p/comm" 2>/dev/null) == slurmstepd ]] || continue
		if [[ -n $(find "$p/fd" -maxdepth 1 -lname "$1/*" 2>/dev/null) ]]; then
			printf '%s\n' "${p#/proc/}"
		fi
	done
}

# strays DIR: pids of processes of this DIR's jobs that outlived their job
# (proctrack/linuxproc loses a job's processes that daemonize): slurmd puts
# SLURM_CONF=DIR/slurm.conf and SLURM_JOB_ID in every job's environment.
# This script and its callers are never among them.
strays() {
	local p pid env nl=$'\n' conf=$1/slurm.conf skip=" " a=$$
	while [[ -n $a && $a != 0 ]]; do
		skip+="$a "
		a=$(awk '{sub(/.*\) /, ""); print $2}' "/proc/$a/stat" 2>/dev/null || true)
	done
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[[ $skip == *" $pid "* ]] && continue
		[[ $(cat "$p/comm" 2>/dev/null) == slurm* ]] && continue
		env=$nl$(tr '\0' '\n' 2>/dev/null <"$p/environ" || true)$nl
		[[ $env == *"${nl}SLURM_CONF=$conf$nl"* && $env == *"${nl}SLURM_JOB_ID="* ]] || continue
		printf '%s\n' "$pid"
	done
}

env_lines() {
	printf 'export SLURM_CONF=%q\n' "$1/slurm.conf"
}

# print_logs DIR: the tail of each log; a daemon's stdout/stderr only when
# its log file is empty (it died before opening it; otherwise they repeat it).
print_logs() {
	local f out
	for f in "$1"/munge/munged.log "$1"/log/slurmctld.log "$1"/log/slurmd.log; do
		out=$1/log/$(basename "$f" .log).out
		[[ -s $f ]] || f=$out
		[[ -s $f ]] || continue
		printf '==> %s (last 40 lines) <==\n' "$f" >&2
		tail -n 40 "$f" >&2
	done
}

# Set by cmd_start for start_failed.
start_dir=
started_pids=()

# start_failed: the EXIT trap of a start that did not finish: the logs, then
# stop what was started (by pid as well: a daemon may not have written its
# pid file yet).
start_failed() {
	local pid
	print_logs "$start_dir"
	cmd_stop "$start_dir" || true
	for pid in "${started_pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

cmd_start() {
	local dir=$1 host mem_kb mem_mb margin real_mem cpus port ctld_port slurmd_port
	local munged slurmctld slurmd t0 t_end state b ctld_pid slurmd_pid

	[[ $(id -u) == 0 ]] || die "start needs root (slurmd runs jobs as their users)"
	for b in munged mungekey slurmctld slurmd; do
		find_bin "$b" >/dev/null || die "$b not found: apt-get install -y --no-install-recommends slurm-wlm munge"
	done
	for b in sinfo sbatch scontrol; do
		command -v "$b" >/dev/null || die "$b not found: apt-get install -y --no-install-recommends slurm-wlm"
	done
	munged=$(find_bin munged)
	slurmctld=$(find_bin slurmctld)
	slurmd=$(find_bin slurmd)

	[[ -d $dir ]] || die "$dir: not a directory (make it first, e.g. mktemp -d)"
	dir=$(cd "$dir" && pwd -P)
	[[ $dir != *[[:space:]]* ]] || die "$dir: slurm.conf cannot hold a path with white space"
	if alive "$dir/run/slurmctld.pid" slurmctld >/dev/null ||
		alive "$dir/run/slurmd.pid" slurmd >/dev/null ||
		alive "$dir/munge/munged.pid" munged >/dev/null; then
		die "a cluster is already running in $dir (stop it first)"
	fi
	t0=$EPOCHREALTIME
	# From here on, a start that fails shows the daemons' logs and stops
	# whatever it had started.
	start_dir=$dir
	trap start_failed EXIT

	# munged insists that every directory above its socket be searchable by
	# all (so any user's sbatch can reach it) and writable only by root
	# (unless sticky, as /tmp is): mktemp -d makes DIR 0700, so DIR gets
	# go+x, and munge/ is 0711 (the key in it is root's, 0400).
	mkdir -p "$dir"/{munge,state,spool,log,run}
	chmod go+x "$dir"
	chmod 0711 "$dir/munge"
	if [[ ! -s $dir/munge/munge.key ]]; then
		"$(find_bin mungekey)" --create --keyfile="$dir/munge/munge.key"
	fi
	chmod 0400 "$dir/munge/munge.key"

	host=$(hostname -s)
	cpus=${SLURM_LOCAL_CPUS:-2}
	mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
	mem_mb=$((mem_kb / 1024))
	# Leave 5% (at least 256 MB) to the rest of the machine, and stay below
	# what slurmd sees (config_overrides would hide a node that claims more).
	margin=$((mem_mb / 20))
	((margin >= 256)) || margin=256
	real_mem=$((mem_mb - margin))
	((real_mem > 0)) || die "MemTotal ${mem_mb} MB is too small"

	if [[ -n ${SLURM_LOCAL_PORT:-} ]]; then
		port=$SLURM_LOCAL_PORT
	else
		# A pair from DIR's checksum, so that two clusters rarely even try
		# the same ports; then the next free pair.
		port=$((10000 + ($(printf '%s' "$dir" | cksum | cut -d' ' -f1) % 25000) * 2))
		while port_busy "$port" || port_busy "$((port + 1))"; do
			port=$((port + 2))
			((port < 65000)) || port=10000
		done
	fi
	ctld_port=$port
	slurmd_port=$((port + 1))

	cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: a single-node cluster living in $dir
ClusterName=gdask-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in a container: track processes by parentage, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# --mem is accounted per job and (OverMemoryKill) enforced by polling.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((real_mem / cpus))
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill
# No slurmdbd: sacct does not work; finished jobs stay in scontrol for an
# hour and get a line in the job completion log.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
MinJobAge=3600
MaxArraySize=100001
MaxJobCount=200000
ReturnToService=2
SlurmdParameters=config_overrides
MpiDefault=none
MailProg=/bin/true
KillWait=5
InactiveLimit=0
SlurmdTimeout=300
SlurmctldTimeout=120
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$real_mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	cat >"$dir/cgroup.conf" <<EOF
# Written by scripts/slurm-local.sh. Not used: slurm.conf has
# TaskPlugin=task/none and ProctrackType=proctrack/linuxproc (no cgroups in
# a container). Kept so that nothing reads a system-wide one.
CgroupPlugin=autodetect
EOF

	# Every daemon gets no terminal and its stdout/stderr in a file, so that
	# $(slurm-local.sh start DIR) returns and CI's pipes close.
	"$munged" --socket="$dir/munge/munge.socket" \
		--key-file="$dir/munge/munge.key" \
		--pid-file="$dir/munge/munged.pid" \
		--log-file="$dir/munge/munged.log" \
		--seed-file="$dir/munge/munged.seed" \
		</dev/null >>"$dir/log/munged.out" 2>&1 || die "munged did not start"

	# slurmctld and slurmd run in the foreground (-D), each in a session of
	# its own, so that their pids are known at once and a daemon that dies
	# early (a port taken, a bad config) fails start at once rather than
	# after the timeout; they write their pid files as well.
	SLURM_CONF=$dir/slurm.conf setsid "$slurmctld" -D -f "$dir/slurm.conf" \
		</dev/null >>"$dir/log/slurmctld.out" 2>&1 &
	ctld_pid=$!
	started_pids+=("$ctld_pid")
	SLURM_CONF=$dir/slurm.conf setsid "$slurmd" -D -f "$dir/slurm.conf" -N "$host" \
		</dev/null >>"$dir/log/slurmd.out" 2>&1 &
	slurmd_pid=$!
	started_pids+=("$slurmd_pid")

	t_end=$((SECONDS + ${SLURM_LOCAL_TIMEOUT:-60}))
	state=
	while :; do
		state=$(SLURM_CONF=$dir/slurm.conf sinfo -h -n "$host" -o %T 2>/dev/null || true)
		[[ $state == idle ]] && break
		for b in "slurmctld:$ctld_pid" "slurmd:$slurmd_pid"; do
			kill -0 "${b#*:}" 2>/dev/null || die "${b%%:*} exited"
		done
		((SECONDS < t_end)) ||
			die "node $host not idle after ${SLURM_LOCAL_TIMEOUT:-60}s (state: ${state:-none})"
		sleep 0.2
	done
	trap - EXIT
	env_lines "$dir" >"$dir/env"
	say "node $host idle after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')s (ports $ctld_port/$slurmd_port)"
	cat "$dir/env"
}

# stop_daemons DIR: TERM slurmd, slurmctld and munged at once (stopping
# them one after the other costs seconds: munged alone takes about 2 s),
# wait up to 15 s for them to exit, then KILL what is left.
stop_daemons() {
	local dir=$1 pid i spec left
	local -a pids=() names=()
	for spec in run/slurmd.pid:slurmd run/slurmctld.pid:slurmctld munge/munged.pid:munged; do
		pid=$(alive "$dir/${spec%%:*}" "${spec##*:}") || continue
		kill -TERM "$pid" 2>/dev/null || continue
		pids+=("$pid")
		names+=("${spec##*:}")
	done
	for ((i = 0; i < 150; i++)); do
		left=0
		for pid in "${pids[@]}"; do
			if kill -0 "$pid" 2>/dev/null; then left=1; fi
		done
		((left)) || break
		sleep 0.1
	done
	for i in "${!pids[@]}"; do
		if kill -0 "${pids[i]}" 2>/dev/null; then
			say "${names[i]} (${pids[i]}) did not stop on TERM; killing it"
			kill -KILL "${pids[i]}" 2>/dev/null || true
		else
			say "stopped ${names[i]} (${pids[i]})"
		fi
	done
}

cmd_stop() {
	local dir=$1 ids pids i
	[[ -d $dir ]] || die "$dir: not a directory"
	dir=$(cd "$dir" && pwd -P)

	# Cancel every job while slurmctld and slurmd still run, so that their
	# processes are ended (slurmstepd outlives slurmd otherwise).
	if alive "$dir/run/slurmctld.pid" slurmctld >/dev/null; then
		ids=$(SLURM_CONF=$dir/slurm.conf squeue -h -o %A 2>/dev/null || true)
		if [[ -n $ids ]]; then
			# shellcheck disable=SC2086 # one word per job id
			SLURM_CONF=$dir/slurm.conf scancel $ids 2>/dev/null || true
			for ((i = 0; i < 150; i++)); do
				[[ -z $(SLURM_CONF=$dir/slurm.conf squeue -h -o %A 2>/dev/null || true) ]] && break
				sleep 0.1
			done
		fi
	fi
	for ((i = 0; i < 100; i++)); do
		[[ -z $(stepds "$dir") ]] && break
		sleep 0.1
	done
	pids=$(stepds "$dir")
	if [[ -n $pids ]]; then
		say "killing slurmstepd left over: $(echo "$pids" | tr '\n' ' ')"
		# shellcheck disable=SC2086 # one word per pid
		kill -KILL $pids 2>/dev/null || true
	fi

	pids=$(strays "$dir")
	if [[ -n $pids ]]; then
		say "killing job processes that outlived their jobs: $(echo "$pids" | tr '\n' ' ')"
		# shellcheck disable=SC2086 # one word per pid
		kill -KILL $pids 2>/dev/null || true
	fi

	stop_daemons "$dir"
}

cmd_env() {
	local dir=$1
	[[ -d $dir ]] || die "$dir: not a directory"
	dir=$(cd "$dir" && pwd -P)
	[[ -f $dir/slurm.conf ]] || die "$dir: no cluster was started there"
	env_lines "$dir"
}

main() {
	(($# == 2)) || usage
	case $1 in
	start) cmd_start "$2" ;;
	stop) cmd_stop "$2" ;;
	env) cmd_env "$2" ;;
	*) usage ;;
	esac
}

main "$@"
