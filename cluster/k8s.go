package cluster

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"sigs.k8s.io/yaml"

	"github.com/gdask/gdask/internal/fsname"
)

// Defaults of a K8sSpec's fields left zero (or nil).
const (
	// DefaultK8sParallelism caps the shards that run at once. Each shard
	// pod requests a whole --memory-limit and reads the same inputs from
	// one shared volume: a network file system behind a ReadWriteMany
	// claim gives out its bandwidth, not more of it, to more readers, so
	// past a dozen or so shards more pods mostly queue on the storage and
	// crowd the namespace's quota. 16 keeps a run of hundreds of shards
	// from taking the cluster over; raise it when the storage scales.
	DefaultK8sParallelism = 16
	// DefaultK8sBackoffLimitPerIndex: a failed shard is tried once more
	// (a node lost, a volume hiccup), not six times as Kubernetes would
	// for a Job without it: a data error fails every attempt the same way.
	DefaultK8sBackoffLimitPerIndex = 1
	// DefaultK8sMergeWait is how long the merge waits for shards that
	// left no word (killed out of memory, never scheduled).
	DefaultK8sMergeWait = 24 * time.Hour
	// DefaultK8sTTLSecondsAfterFinished keeps finished Jobs and their pods'
	// logs for a day, long enough to read why a run failed overnight,
	// then lets Kubernetes delete them.
	DefaultK8sTTLSecondsAfterFinished = 24 * 60 * 60
)

// The flags a shard's command line ends with, on Kubernetes and Slurm
// alike (see the package doc for what the CLI does with each).
const (
	flagShard        = "--shard"
	flagStateOut     = "--state-out"
	flagShardAttempt = "--shard-attempt"
)

// What the manifests tell gdask and the names gdask is told them by.
const (
	k8sEnvIndex        = "JOB_COMPLETION_INDEX" // the name the Job controller itself uses
	k8sEnvAttempt      = "GDASK_SHARD_ATTEMPT"
	k8sFlagWait        = "--wait"
	k8sFlagWaitShards  = "--wait-shards"
	k8sFlagWaitAttempt = "--wait-attempts"

	k8sVolumeName = "data"

	// Kubernetes' own limits.
	k8sMaxShards   = 100_000 // completions of an Indexed Job that Kubernetes tracks without extra rules
	k8sMaxLabelLen = 63      // a DNS label; a label value
	k8sMergeSuffix = "-merge"
)

// Labels on both Jobs and their pods: `kubectl get jobs,pods -l
// app.kubernetes.io/instance=RUN` lists a run, with
// app.kubernetes.io/component=merge its merge.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
)

// K8sSpec is what RenderK8s needs to write a run's Jobs. cmd fills it from
// `gdask submit k8s` flags; it holds no Kubernetes types, so nothing
// outside this package imports them.
type K8sSpec struct {
	// Name names the shard Job; the merge Job is Name-merge. A DNS label
	// short enough that Name-merge and the shard pods' host names
	// (Name-INDEX) are DNS labels too.
	Name string
	// Namespace of both Jobs; empty leaves it to kubectl's context.
	Namespace string
	// RunID is the value of the app.kubernetes.io/instance label, which
	// finds a run's Jobs and pods (a label value: 63 characters at most).
	RunID string

	Image string
	// ImagePullPolicy is Always, IfNotPresent or Never; empty means
	// IfNotPresent.
	ImagePullPolicy string

	// Shards is N, the completions of the Indexed Job.
	Shards int
	// Parallelism is how many shards run at once; 0 means
	// min(Shards, DefaultK8sParallelism).
	Parallelism int
	// BackoffLimitPerIndex is how many times a failed shard is retried;
	// nil means DefaultK8sBackoffLimitPerIndex.
	BackoffLimitPerIndex *int
	// MaxFailedIndexes is how many shards may fail for good before
	// Kubernetes stops the whole shard Job. 0, the default, stops it at
	// the first: without every shard there is no result, the shards
	// that finished are kept for a rerun either way, and a failure that
	// every shard would hit (a bad expression) costs one shard's attempts
	// rather than all of them. Shards lets every shard run to its end.
	MaxFailedIndexes int

	// Volume is shared by the shards and the merge; StateDir is on it.
	Volume K8sVolume
	// StateDir is the directory the shards write their states to and the
	// merge reads, an absolute path under Volume.MountPath; empty means
	// MountPath/gdask/RunID.
	StateDir string

	// ShardCommand is a shard's argv without the shard flags, which
	// RenderK8s appends: gdask VERB ARGS... (argv[0] is the command run
	// in the image).
	ShardCommand []string
	// MergeCommand is the merge's argv without the wait flags, which
	// RenderK8s appends: gdask merge DIR --output DIR/result.csv.
	MergeCommand []string
	// MergeWait bounds the merge's wait for shards that left no word; 0
	// means DefaultK8sMergeWait.
	MergeWait time.Duration

	// Resources of each pod, shards and merge alike (the merge holds every
	// shard's state in turn, as much as a shard does).
	Resources K8sResources

	// TTLSecondsAfterFinished is how long Kubernetes keeps a finished Job;
	// nil means DefaultK8sTTLSecondsAfterFinished, negative keeps it until
	// it is deleted.
	TTLSecondsAfterFinished *int

	// Labels are added to both Jobs and their pods (a team, a cost
	// centre); they cannot replace the app.kubernetes.io labels above.
	Labels map[string]string
}

// K8sVolume is the PersistentVolumeClaim the pods share.
type K8sVolume struct {
	Claim     string // the claim's name
	MountPath string // where the pods see it: an absolute path, not /
}

// K8sResources sizes a pod from gdask's own settings.
type K8sResources struct {
	// MemoryLimit is gdask's --memory-limit in bytes; 0 leaves the pod's
	// memory unset.
	MemoryLimit int64
	// MemorySlack is added to MemoryLimit for what gdask's broker does not
	// count (the Go runtime, goroutine stacks, the binary). The pod's
	// request and limit are both MemoryLimit+MemorySlack: the limit is the
	// point of --memory-limit, and a request below it lets the node run
	// out of memory under the pod.
	MemorySlack int64
	// CPU is gdask's --workers: the pod requests that many cores; 0
	// requests none. There is no CPU limit: the request already reserves
	// the cores, and a limit would only throttle gdask's bursts (the
	// collector, the decompressing goroutine) to a stop for the rest of
	// each 100 ms period.
	CPU int
}

// RenderK8s returns the shard Job and the merge Job of spec as YAML, two
// documents separated by "---", for `kubectl apply -f -`. Its output is the
// same for the same spec, byte for byte.
func RenderK8s(spec K8sSpec) ([]byte, error) {
	s, err := spec.resolve()
	if err != nil {
		return nil, err
	}
	shard, err := yaml.Marshal(s.shardJob())
	if err != nil {
		return nil, fmt.Errorf("cannot render the shard job: %w", err)
	}
	merge, err := yaml.Marshal(s.mergeJob())
	if err != nil {
		return nil, fmt.Errorf("cannot render the merge job: %w", err)
	}
	out := append(shard, "---\n"...)
	return append(out, merge...), nil
}

// The parts of a batch/v1 Job that gdask writes, under the Kubernetes
// API's field names, each omitted when empty as the API's own types omit
// it (k8s.io/api): what one asks for, without the status, which is the API
// server's to write. They are gdask's own because the API's types cost
// every gdask process, whatever its command, about 10 ms to start (their
// packages' initialisation) and the binary a third of its size; the tests
// decode every manifest strictly into the API's types and match golden
// files.
type (
	k8sJob struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   k8sMeta    `json:"metadata"`
		Spec       k8sJobSpec `json:"spec"`
	}
	k8sMeta struct {
		Name      string            `json:"name,omitempty"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	}
	k8sJobSpec struct {
		Parallelism             *int32               `json:"parallelism,omitempty"`
		Completions             *int32               `json:"completions,omitempty"`
		PodFailurePolicy        *k8sPodFailurePolicy `json:"podFailurePolicy,omitempty"`
		BackoffLimit            *int32               `json:"backoffLimit,omitempty"`
		BackoffLimitPerIndex    *int32               `json:"backoffLimitPerIndex,omitempty"`
		MaxFailedIndexes        *int32               `json:"maxFailedIndexes,omitempty"`
		Template                k8sPodTemplate       `json:"template"`
		TTLSecondsAfterFinished *int32               `json:"ttlSecondsAfterFinished,omitempty"`
		CompletionMode          string               `json:"completionMode,omitempty"`
		PodReplacementPolicy    string               `json:"podReplacementPolicy,omitempty"`
	}
	k8sPodFailurePolicy struct {
		Rules []k8sPodFailureRule `json:"rules"`
	}
	k8sPodFailureRule struct {
		Action          string            `json:"action"`
		OnExitCodes     *k8sOnExitCodes   `json:"onExitCodes,omitempty"`
		OnPodConditions []k8sPodCondition `json:"onPodConditions,omitempty"`
	}
	k8sOnExitCodes struct {
		ContainerName string  `json:"containerName,omitempty"`
		Operator      string  `json:"operator"`
		Values        []int32 `json:"values"`
	}
	k8sPodCondition struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	k8sPodTemplate struct {
		Metadata k8sMeta    `json:"metadata"`
		Spec     k8sPodSpec `json:"spec"`
	}
	k8sPodSpec struct {
		Volumes       []k8sVolume    `json:"volumes,omitempty"`
		Containers    []k8sContainer `json:"containers"`
		RestartPolicy string         `json:"restartPolicy,omitempty"`
	}
	k8sVolume struct {
		Name                  string          `json:"name"`
		PersistentVolumeClaim *k8sClaimSource `json:"persistentVolumeClaim,omitempty"`
	}
	k8sClaimSource struct {
		ClaimName string `json:"claimName"`
	}
	k8sContainer struct {
		Name            string           `json:"name"`
		Image           string           `json:"image,omitempty"`
		Command         []string         `json:"command,omitempty"`
		Args            []string         `json:"args,omitempty"`
		Env             []k8sEnvVar      `json:"env,omitempty"`
		Resources       k8sResources     `json:"resources"`
		VolumeMounts    []k8sVolumeMount `json:"volumeMounts,omitempty"`
		ImagePullPolicy string           `json:"imagePullPolicy,omitempty"`
	}
	k8sResources struct {
		Limits   map[string]string `json:"limits,omitempty"`
		Requests map[string]string `json:"requests,omitempty"`
	}
	k8sEnvVar struct {
		Name      string        `json:"name"`
		ValueFrom *k8sEnvSource `json:"valueFrom,omitempty"`
	}
	k8sEnvSource struct {
		FieldRef *k8sFieldRef `json:"fieldRef,omitempty"`
	}
	k8sFieldRef struct {
		FieldPath string `json:"fieldPath"`
	}
	k8sVolumeMount struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	}
)

// The Job controller's annotations of an Indexed Job's pods.
const (
	k8sCompletionIndexAnnotation   = "batch.kubernetes.io/job-completion-index"
	k8sIndexFailureCountAnnotation = "batch.kubernetes.io/job-index-failure-count"
)

// resolve validates spec and fills in its defaults.
func (spec K8sSpec) resolve() (K8sSpec, error) {
	s := spec
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	if s.Shards < 1 || s.Shards > k8sMaxShards {
		bad("invalid shard count %d: want 1 to %d", s.Shards, k8sMaxShards)
	}
	switch msgs := content.IsDNS1123Label(s.Name); {
	case s.Name == "":
		bad("missing job name")
	case len(msgs) > 0:
		bad("invalid job name %q: %s", s.Name, strings.Join(msgs, "; "))
	case len(s.Name)+len(k8sMergeSuffix) > k8sMaxLabelLen:
		// A Job's name is a label value of its pods (job-name), so at
		// most 63 characters. Within 57, the shard pods' host names,
		// NAME-INDEX with INDEX below 100,000, are DNS labels too.
		bad("invalid job name %q: longer than %d characters, so the merge job's name %q would not fit a label value (%d)",
			s.Name, k8sMaxLabelLen-len(k8sMergeSuffix), s.Name+k8sMergeSuffix, k8sMaxLabelLen)
	}
	if s.Namespace != "" {
		if msgs := content.IsDNS1123Label(s.Namespace); len(msgs) > 0 {
			bad("invalid namespace %q: %s", s.Namespace, strings.Join(msgs, "; "))
		}
	}
	if s.RunID == "" {
		bad("missing run id: the merge job and the pods are found by it")
	} else if msgs := content.IsLabelValue(s.RunID); len(msgs) > 0 {
		bad("invalid run id %q: it is a label value: %s", s.RunID, strings.Join(msgs, "; "))
	}

	if strings.TrimSpace(s.Image) == "" {
		bad("missing image: name the image that holds gdask")
	} else if strings.ContainsFunc(s.Image, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		bad("invalid image %q: it holds a space or a control character", s.Image)
	}
	switch s.ImagePullPolicy {
	case "":
		s.ImagePullPolicy = "IfNotPresent"
	case "Always", "IfNotPresent", "Never":
	default:
		bad("invalid image pull policy %q: want Always, IfNotPresent or Never", s.ImagePullPolicy)
	}

	switch {
	case s.Parallelism == 0:
		s.Parallelism = min(max(s.Shards, 1), DefaultK8sParallelism)
	case s.Parallelism < 0:
		bad("invalid parallelism %d: want 1 or more (0 means min(shards, %d))", s.Parallelism, DefaultK8sParallelism)
	case s.Parallelism > s.Shards && s.Shards >= 1:
		bad("invalid parallelism %d: more than the %d shards", s.Parallelism, s.Shards)
	}
	if s.BackoffLimitPerIndex == nil {
		s.BackoffLimitPerIndex = ptr(DefaultK8sBackoffLimitPerIndex)
	} else if b := *s.BackoffLimitPerIndex; b < 0 || b >= math.MaxInt32 {
		bad("invalid backoff limit per index %d: want 0 retries or more", b)
	}
	if s.MaxFailedIndexes < 0 || s.MaxFailedIndexes > max(s.Shards, 0) {
		bad("invalid max failed indexes %d: want 0 to the %d shards", s.MaxFailedIndexes, s.Shards)
	}

	mount := s.Volume.MountPath
	volumeOK := false
	switch {
	case s.Volume.Claim == "" && mount == "":
		bad("missing volume: the shards and the merge share their state directory on a PersistentVolumeClaim")
	case s.Volume.Claim == "":
		bad("volume mounted at %s has no claim name", fsname.Quote(mount))
	case len(content.IsDNS1123Subdomain(s.Volume.Claim)) > 0:
		bad("invalid volume claim name %q: %s", s.Volume.Claim, strings.Join(content.IsDNS1123Subdomain(s.Volume.Claim), "; "))
	case mount == "":
		bad("volume %q has no mount path: the shards and the merge find the state directory under it", s.Volume.Claim)
	case !path.IsAbs(mount) || path.Clean(mount) != mount || mount == "/" || strings.Contains(mount, ":"):
		bad("invalid mount path %s for volume %q: want a clean absolute path other than /, without ':'", fsname.Quote(mount), s.Volume.Claim)
	default:
		volumeOK = true
	}
	if volumeOK {
		if s.StateDir == "" {
			s.StateDir = path.Join(mount, "gdask", s.RunID)
		}
		if !path.IsAbs(s.StateDir) || path.Clean(s.StateDir) != s.StateDir || !strings.HasPrefix(s.StateDir, mount+"/") {
			bad("invalid state directory %s: want a clean absolute path under the volume's mount path %s, where the merge can read it",
				fsname.Quote(s.StateDir), fsname.Quote(mount))
		}
	}

	checkCommand := func(what string, argv []string, ours ...string) {
		if len(argv) == 0 || argv[0] == "" {
			bad("missing %s command", what)
			return
		}
		for _, a := range argv[1:] {
			for _, f := range ours {
				if a == f || strings.HasPrefix(a, f+"=") {
					bad("invalid %s command: it already has %s, which the manifest adds", what, f)
				}
			}
		}
	}
	checkCommand("shard", s.ShardCommand, flagShard, flagStateOut, flagShardAttempt)
	checkCommand("merge", s.MergeCommand, k8sFlagWait, k8sFlagWaitShards, k8sFlagWaitAttempt)
	switch {
	case s.MergeWait == 0:
		s.MergeWait = DefaultK8sMergeWait
	case s.MergeWait < 0:
		bad("invalid merge wait %v: want a positive duration", s.MergeWait)
	}

	r := s.Resources
	checkMemory(r.MemoryLimit, r.MemorySlack, bad)
	if r.CPU < 0 {
		bad("invalid cpu %d: want 0 cores or more", r.CPU)
	}
	if s.TTLSecondsAfterFinished == nil {
		s.TTLSecondsAfterFinished = ptr(DefaultK8sTTLSecondsAfterFinished)
	} else if t := *s.TTLSecondsAfterFinished; t > math.MaxInt32 {
		bad("invalid ttl %d seconds: at most %d", t, math.MaxInt32)
	}

	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		v := s.Labels[k]
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			bad("invalid label key %q: %s", k, strings.Join(msgs, "; "))
		} else if _, ours := s.baseLabels("")[k]; ours || k == LabelComponent {
			bad("invalid label %q: gdask sets it", k)
		}
		if msgs := content.IsLabelValue(v); len(msgs) > 0 {
			bad("invalid label %q value %q: %s", k, v, strings.Join(msgs, "; "))
		}
	}

	if len(errs) > 0 {
		// One line, as every gdask message is.
		return K8sSpec{}, fmt.Errorf("invalid kubernetes job: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

func (s K8sSpec) baseLabels(component string) map[string]string {
	l := map[string]string{
		LabelName:      "gdask",
		LabelInstance:  s.RunID,
		LabelManagedBy: "gdask",
	}
	if component != "" {
		l[LabelComponent] = component
	}
	return l
}

func (s K8sSpec) labels(component string) map[string]string {
	l := maps.Clone(s.Labels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, s.baseLabels(component))
	return l
}

// shardJob is the Indexed Job: one pod per shard, its index from the Job.
func (s K8sSpec) shardJob() *k8sJob {
	n := strconv.Itoa(s.Shards)
	args := escapeAll(s.ShardCommand[1:])
	args = append(args,
		flagShardAttempt+"=$("+k8sEnvAttempt+")",
		flagShard+"=$("+k8sEnvIndex+")/"+n,
		flagStateOut+"="+escape(s.StateDir),
	)
	c := s.container("shard", s.ShardCommand[0], args)
	c.Env = []k8sEnvVar{
		fromAnnotation(k8sEnvIndex, k8sCompletionIndexAnnotation),
		fromAnnotation(k8sEnvAttempt, k8sIndexFailureCountAnnotation),
	}
	job := s.job(s.Name, "shard", c)
	job.Spec.CompletionMode = "Indexed"
	job.Spec.Completions = ptr(int32(s.Shards))
	job.Spec.Parallelism = ptr(int32(s.Parallelism))
	job.Spec.BackoffLimitPerIndex = ptr(int32(*s.BackoffLimitPerIndex))
	job.Spec.MaxFailedIndexes = ptr(int32(s.MaxFailedIndexes))
	job.Spec.PodFailurePolicy = &k8sPodFailurePolicy{Rules: []k8sPodFailureRule{
		ignoreDisruption(),
	}}
	return job
}

// mergeJob is one pod that waits for the shards in the state directory
// and merges them.
func (s K8sSpec) mergeJob() *k8sJob {
	args := escapeAll(s.MergeCommand[1:])
	args = append(args,
		k8sFlagWait+"="+formatDuration(s.MergeWait),
		k8sFlagWaitShards+"="+strconv.Itoa(s.Shards),
		k8sFlagWaitAttempt+"="+strconv.Itoa(*s.BackoffLimitPerIndex+1),
	)
	job := s.job(s.Name+k8sMergeSuffix, "merge", s.container("merge", s.MergeCommand[0], args))
	job.Spec.Completions = ptr(int32(1))
	job.Spec.Parallelism = ptr(int32(1))
	job.Spec.BackoffLimit = ptr(int32(1))
	job.Spec.PodFailurePolicy = &k8sPodFailurePolicy{Rules: []k8sPodFailureRule{
		ignoreDisruption(),
		{
			// gdask said why it failed (a failed or missing shard, a data
			// error, a usage error): a retry would say it again.
			Action:      "FailJob",
			OnExitCodes: &k8sOnExitCodes{ContainerName: "merge", Operator: "In", Values: []int32{1, 2}},
		},
	}}
	return job
}

// job is what the two Jobs share.
func (s K8sSpec) job(name, component string, c k8sContainer) *k8sJob {
	job := &k8sJob{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Metadata:   k8sMeta{Name: name, Namespace: s.Namespace, Labels: s.labels(component)},
		Spec: k8sJobSpec{
			// A replacement pod starts once the failed one is gone, so two
			// attempts never write the same state at once (and a pod
			// failure policy requires it).
			PodReplacementPolicy: "Failed",
			Template: k8sPodTemplate{
				Metadata: k8sMeta{Labels: s.labels(component)},
				Spec: k8sPodSpec{
					RestartPolicy: "Never",
					Containers:    []k8sContainer{c},
					Volumes: []k8sVolume{{
						Name:                  k8sVolumeName,
						PersistentVolumeClaim: &k8sClaimSource{ClaimName: s.Volume.Claim},
					}},
				},
			},
		},
	}
	if ttl := *s.TTLSecondsAfterFinished; ttl >= 0 {
		job.Spec.TTLSecondsAfterFinished = ptr(int32(ttl))
	}
	return job
}

func (s K8sSpec) container(name, command string, args []string) k8sContainer {
	c := k8sContainer{
		Name:            name,
		Image:           s.Image,
		ImagePullPolicy: s.ImagePullPolicy,
		Command:         []string{escape(command)},
		Args:            args,
		VolumeMounts:    []k8sVolumeMount{{Name: k8sVolumeName, MountPath: s.Volume.MountPath}},
	}
	if r := s.Resources; r.MemoryLimit > 0 || r.CPU > 0 {
		c.Resources.Requests = map[string]string{}
		if r.MemoryLimit > 0 {
			mem := binaryQuantity(r.MemoryLimit + r.MemorySlack)
			c.Resources.Requests["memory"] = mem
			c.Resources.Limits = map[string]string{"memory": mem}
		}
		if r.CPU > 0 {
			c.Resources.Requests["cpu"] = decimalQuantity(int64(r.CPU))
		}
	}
	return c
}

// binaryQuantity is n as Kubernetes writes a quantity of bytes
// (resource.BinarySI): n/1024^k with the suffix Ki, Mi, Gi... for the
// largest k that divides n; below 1024, as decimalQuantity.
func binaryQuantity(n int64) string {
	if n > -1024 && n < 1024 {
		return decimalQuantity(n)
	}
	k := 0
	for n%1024 == 0 && k < 6 {
		n /= 1024
		k++
	}
	return strconv.FormatInt(n, 10) + []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}[k]
}

// decimalQuantity is n as Kubernetes writes a count (resource.DecimalSI):
// n/1000^k with the suffix k, M, G... for the largest k that divides n.
func decimalQuantity(n int64) string {
	if n == 0 {
		return "0"
	}
	k := 0
	for n%1000 == 0 && k < 6 {
		n /= 1000
		k++
	}
	return strconv.FormatInt(n, 10) + []string{"", "k", "M", "G", "T", "P", "E"}[k]
}

// fromAnnotation declares env var name as the pod's annotation key, read
// through the downward API.
func fromAnnotation(name, key string) k8sEnvVar {
	return k8sEnvVar{Name: name, ValueFrom: &k8sEnvSource{
		FieldRef: &k8sFieldRef{FieldPath: "metadata.annotations['" + key + "']"},
	}}
}

// ignoreDisruption does not count a pod evicted, preempted or lost with
// its node against the retries: the shard did not fail, its node did.
func ignoreDisruption() k8sPodFailureRule {
	return k8sPodFailureRule{
		Action:          "Ignore",
		OnPodConditions: []k8sPodCondition{{Type: "DisruptionTarget", Status: "True"}},
	}
}

// escape keeps s as it is through the kubelet's expansion of $(VAR) in
// command and args, so that an argument of the user's (an expression, a
// path) reaches gdask byte for byte whatever it holds. The kubelet reads
// $$ as $ and $(NAME) as a reference, and leaves any other $ alone, so
// only a $ before a $ or a ( is doubled: $HOME stays as the user typed it.
func escape(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && (s[i+1] == '$' || s[i+1] == '(') {
			b.WriteByte('$')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func escapeAll(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = escape(a)
	}
	return out
}

// formatDuration prints d as time.ParseDuration reads it, without the
// zero minutes and seconds of time.Duration.String: 24h, 1h30m, 90s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// K8sCommands decodes, strictly, the two Jobs RenderK8s wrote and returns
// each one's container command line (its command, then its args) as the
// kubelet receives it, before it expands $(VAR) in it: what a test runs
// with the pod's environment to check the shards' wiring, and what a
// person runs to try a shard by hand.
func K8sCommands(manifests []byte) (shard, merge []string, err error) {
	docs := bytes.Split(manifests, []byte("\n---\n"))
	if len(docs) != 2 {
		return nil, nil, fmt.Errorf("want the shard Job and the merge Job, got %d documents", len(docs))
	}
	var argv [2][]string
	for i, d := range docs {
		var job k8sJob
		if err := yaml.UnmarshalStrict(d, &job); err != nil {
			return nil, nil, err
		}
		cs := job.Spec.Template.Spec.Containers
		if len(cs) != 1 {
			return nil, nil, fmt.Errorf("job %s has %d containers, want 1", job.Metadata.Name, len(cs))
		}
		argv[i] = append(slices.Clone(cs[0].Command), cs[0].Args...)
	}
	return argv[0], argv[1], nil
}

// checkMemory checks a job's --memory-limit and the slack added to it for
// the scheduler, reporting what is wrong through bad (Kubernetes and Slurm
// size their jobs alike).
func checkMemory(limit, slack int64, bad func(format string, args ...any)) {
	switch {
	case limit < 0 || slack < 0:
		bad("invalid memory %d + slack %d: want sizes of 0 bytes or more", limit, slack)
	case limit == 0 && slack > 0:
		bad("memory slack %d without a memory limit: the slack is added to --memory-limit", slack)
	case limit > math.MaxInt64-slack:
		bad("invalid memory %d + slack %d: too large", limit, slack)
	}
}
