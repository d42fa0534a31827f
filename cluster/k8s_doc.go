// Package cluster runs gdask on a scheduler that exists: shards, their
// state files, the merge, and the submitters that hand them to Slurm or
// Kubernetes.
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
// The CLI session must give gdask these flags, which the manifests use
// (they are constants below, so a rename is one line):
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
package cluster
