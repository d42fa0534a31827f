// Package cluster holds what gdask needs to run one plan as N shards on a
// scheduler that exists (DESIGN §8): the state file a shard leaves behind,
// the directory of them that a merge reads, and the manifests and scripts
// that hand the shards and the merge to Kubernetes and to Slurm. What a body holds (rows in
// order, a sorted run, aggregate states, a count) is the engine's business;
// this package frames it, checks it and says which shards are done.
//
// # The state file
//
// Shard i of N writes DIR/shard-iiii-of-NNNN.state (Name, Path; i and N in
// four digits, so N is at most MaxShards). The file is made as a temp file
// in DIR (writers.CreateAtomic) and renamed into place once complete and
// synced: under its final name a state file is always whole, and a shard
// that fails leaves none.
//
// Every integer is little-endian. Every checksum is CRC-32C (Castagnoli,
// the iSCSI polynomial, as hash/crc32 computes it with crc32.Castagnoli).
// A file is a prologue, the framed body, then the header:
//
//	offset  size  prologue (32 bytes)
//	     0     8  magic "GDASKST\n"
//	     8     4  format version, uint32: 3 (Version)
//	    12     4  header length HL, uint32: 80 + 20*U
//	    16     8  header offset HO, uint64: 32 + L + 4*ceil(L/B)
//	    24     4  CRC-32C of the HL header bytes
//	    28     4  CRC-32C of bytes 0 to 28
//
//	    32        body, L bytes cut into blocks of B bytes (the last one
//	              shorter, none when L is 0); each block is followed by
//	              4 bytes: the CRC-32C of the body from its first byte to
//	              the end of this block (a running checksum)
//
//	    HO        header (HL bytes; offsets from HO)
//	     0    32  plan hash: SHA-256 of the optimised plan's canonical text
//	    32     4  shard index i, uint32: 0 <= i < N
//	    36     4  shard count N, uint32: 1 <= N <= 9999
//	    40     4  body kind, uint32: 1 rows in order, 2 sorted run,
//	              3 aggregate states, 4 count
//	    44     4  block size B, uint32: 64 <= B <= 16 MiB
//	    48     8  rows read, int64 >= 0
//	    56     8  bytes read, int64 >= 0
//	    64     8  body length L, int64 >= 0
//	    72     4  CRC-32C of the L body bytes (the last block's running
//	              checksum; 0 when L is 0)
//	    76     4  unit count U, uint32
//	    80  20*U  units, the parts of the inputs the shard read, each:
//	     0     4    input ordinal, uint32 (the input's place in the plan)
//	     4     8    start, int64: the unit's first byte in the input
//	    12     8    end, int64: one past its last byte; -1 (with start
//	                0) for a whole stream input, which has no byte ranges
//
//	 HO+HL        end of file: its size is exactly HO + HL
//
// The 32 bytes of the prologue keep this layout in every format version,
// so a reader tells another version (the prologue's checksum holds, the
// version differs) from damage (it does not hold). The writer streams the
// body first and writes the header after it, so the header can say what
// is known only at the end (the units covered, rows and bytes read, the
// body's length and checksum) without reserving room for a list whose
// length is not known in advance; the prologue is written as zeros first
// and filled in with one positioned write before the file is synced and
// renamed. A reader thus learns from the first 32 bytes, checked by their
// own checksum, whether the file is a state file, which version, and how
// long it must be: a truncated file is told apart from a damaged one, and
// says how much of it is left.
//
// A reader checks each block against its running checksum before it hands
// out any byte of it, so a damaged or cut body yields an error, never a
// wrong byte; the running checksum makes a block that moved, repeats or is
// missing fail too. A merge that writes its answer as it reads must still
// check every shard to the end before it writes anything (Verify,
// Reader.Verify): a block that fails late cannot take back output already
// written.
//
// # The directory
//
// Status lists shards 0 to N-1 of a directory as done, missing or
// invalid, and the state files there that belong to another shard count.
// Every problem is an *Error naming its file (through fsname.Quote) with
// what to do; errors.Is tells its kind (ErrMissing, ErrTruncated,
// ErrCorrupt, ErrForeignPlan, ErrShardCount, ...).
//
// # Kubernetes
//
// RenderK8s writes two Jobs for `gdask submit k8s`, as a Dask user coming
// from dask-kubernetes would write them by hand:
//
//   - the shards: an Indexed Job of N completions. Each pod is one shard;
//     the Job controller gives it its index in the pod annotation
//     batch.kubernetes.io/job-completion-index, which the container reads
//     as $JOB_COMPLETION_INDEX (declared explicitly, from the downward API,
//     rather than left to the controller to inject). No shell: the kubelet
//     expands $(VAR) in a container's command and args from its env, so the
//     args end in --shard=$(JOB_COMPLETION_INDEX)/N --state-out=DIR.
//     A shard that fails is retried in place (backoffLimitPerIndex), by a
//     new pod that starts only once the old one is gone
//     (podReplacementPolicy: Failed), so two attempts of a shard never write
//     at once; an evicted or preempted pod is not counted as a failure.
//   - the merge: a Job of one pod that runs `gdask merge DIR ... --wait`.
//
// Kubernetes has no dependencies between Jobs, so the merge waits for its
// shards through the one thing they share, the state directory on the
// volume, and not through the API server. A merge that watched the shard
// Job would need a service account, a Role and RoleBinding to read Jobs,
// and kubectl (or client-go) in the image, and would still have to read
// the directory afterwards; the directory is also what a rerun resumes
// from, so it is the truth about which shards are done. The merge pod
// starts with the shards and polls DIR until each of the N shards has a
// complete, valid state, then merges. It never waits forever:
//
//   - a shard that fails with an error gdask reports writes a failure
//     record (shard i/N, attempt, error) next to where its state would be.
//     The attempt is the pod's batch.kubernetes.io/job-index-failure-count
//     annotation (the failures of that index so far, 0 on the first try),
//     passed as --shard-attempt. When the record of the last attempt the
//     Job allows (backoffLimitPerIndex+1 attempts) appears, that shard has
//     failed for good, and the merge fails at once, naming the shard and
//     quoting its error;
//   - a shard that dies without a word (killed out of memory, its node
//     lost) or never runs (unschedulable, image not pulled) leaves no
//     record; the merge then fails when its --wait timeout ends, naming
//     the shards that never completed.
//
// A merge that failed because gdask said why (exit status 1 or 2) fails
// its Job without a retry (the answer would be the same); one that died
// otherwise is retried once, and its retry reads the same directory.
//
// The manifests use these flags of gdask (cmd/shard.go, cmd/merge.go;
// they are constants here, so a rename is one line):
//
//   - on every verb, with --shard and --state-out: --shard-attempt K, the
//     attempt number for failure records (empty means 0); a failed attempt
//     writes its record in the state directory, atomically, and exits with
//     its usual status; an attempt ended by a signal writes none;
//   - on merge: --wait DURATION (poll the state directory for at most that
//     long), --wait-shards N (how many shards to wait for: there may be no
//     state yet to say) and --wait-attempts A (a shard whose attempt A-1
//     left a failure record has failed for good).
//
// The jobs need Kubernetes 1.29 or later (backoffLimitPerIndex,
// maxFailedIndexes and podReplacementPolicy are on by default from there;
// an older API server drops them), and a PersistentVolumeClaim that every
// node can mount at once (ReadWriteMany, or ReadWriteOnce with all pods on
// one node).
//
// # Slurm
//
// RenderSlurm writes two batch scripts for `gdask submit slurm`, as a Dask
// user coming from dask-jobqueue would write them by hand, and
// SubmitSlurm hands them to sbatch:
//
//   - the shards: a job array whose task ids are the shard indices
//     (--array=0-15, %K bounding how many run at once). Each task execs
//     gdask VERB ARGS... --shard "$SLURM_ARRAY_TASK_ID/N" --state-out DIR
//     --shard-attempt "${SLURM_RESTART_COUNT:-0}" (the flags of the
//     Kubernetes section; the attempt is how often Slurm requeued the
//     task), and logs to LOGDIR/shard-i.out.
//   - the merge: one job that execs gdask merge DIR ..., submitted with
//     --dependency=afterok:ARRAY --kill-on-invalid-dep=no.
//
// Slurm, unlike Kubernetes, has dependencies between jobs: the merge
// needs no --wait, as it starts only once every task of the array has
// succeeded. When a shard fails, the merge neither runs (to fail for want
// of that shard) nor is cancelled (as a site with
// DependencyParameters=kill_invalid_depend would do without
// --kill-on-invalid-dep=no): it stays PENDING, and squeue gives the
// reason, DependencyNeverSatisfied. The shards that succeeded keep their
// states, and a resubmission redoes only the others:
//
//  1. once the previous array has ended (squeue -h -j ARRAY lists none
//     of its tasks; a shard still running is missing only until it
//     ends), the CLI submits an array of the shards Status reports
//     missing or invalid (Indices; --array=2,7), with a merge that
//     depends on it, and SubmitSlurm records both in
//     DIR/slurm-jobs.json;
//  2. it cancels the previous merge (PreviousSlurmJobs, CancelSlurm),
//     which would otherwise wait for ever.
//
// Since a task's id is its shard index, a shard keeps its state file and
// its log name whichever array runs it. Every argument is quoted for bash
// and every path in an #SBATCH line for sbatch's reader of them, so a
// user's expression or path reaches gdask as given. The jobs run in the
// directory sbatch was run in (Slurm's default) and find argv[0] as the
// submitting shell did (sbatch exports its environment), so the CLI gives
// absolute paths; the state and log directories must be on a file system
// every node mounts.
//
// Shard indices must be below the cluster's MaxArraySize (1001 unless the
// site raised it), and an --array value must fit in 4096 bytes (see
// SlurmSpec.Indices). The scripts were tested with Slurm 22.05 (Debian
// 12's slurm-wlm) on the single-node cluster of scripts/slurm-local.sh.
package cluster
