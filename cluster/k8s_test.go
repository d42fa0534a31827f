package cluster

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// k8sCase is a spec with a golden file, testdata/k8s/NAME.yaml.
type k8sCase struct {
	name string
	spec K8sSpec
}

func k8sCases() []k8sCase {
	return []k8sCase{
		{"basic", K8sSpec{
			Name:      "gdask-7f3c2a",
			Namespace: "analytics",
			RunID:     "7f3c2a",
			Image:     "ghcr.io/gdask/gdask:v0.9.0",
			Shards:    8,
			Volume:    K8sVolume{Claim: "trips", MountPath: "/data"},
			ShardCommand: []string{"gdask", "groupby", "/data/trips/*.csv",
				"--by", "payment_type", "--mean", "tip_amount", "--memory-limit", "4GiB", "--workers", "4"},
			MergeCommand: []string{"gdask", "merge", "/data/gdask/7f3c2a", "--output", "/data/gdask/7f3c2a/result.csv"},
			Resources:    K8sResources{MemoryLimit: 4 << 30, MemorySlack: 512 << 20, CPU: 4},
		}},
		// More shards than run at once, every default changed, and user
		// arguments that hold what the kubelet would expand or collapse.
		{"wide", K8sSpec{
			Name:                    "nightly-trips",
			RunID:                   "nightly-2026-11-25",
			Image:                   "registry.example.com/gdask@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			ImagePullPolicy:         "Always",
			Shards:                  40,
			BackoffLimitPerIndex:    ptr(3),
			MaxFailedIndexes:        40,
			Volume:                  K8sVolume{Claim: "shared-nfs", MountPath: "/mnt/shared"},
			StateDir:                "/mnt/shared/runs/nightly $(date)",
			ShardCommand:            []string{"/usr/local/bin/gdask", "filter", "/mnt/shared/in/trips.csv.zst", "--where", `note == "$$(JOB_COMPLETION_INDEX)" or price > 3`, "-o", "csv"},
			MergeCommand:            []string{"/usr/local/bin/gdask", "merge", "/mnt/shared/runs/nightly $(date)", "-o", "json", "--output", "/mnt/shared/out/$HOME.json"},
			MergeWait:               90 * time.Minute,
			TTLSecondsAfterFinished: ptr(-1),
			Labels:                  map[string]string{"team": "data", "example.com/cost-centre": "4711"},
		}},
		{"single", K8sSpec{
			Name:                    "g1",
			RunID:                   "g1",
			Image:                   "gdask:dev",
			ImagePullPolicy:         "Never",
			Shards:                  1,
			BackoffLimitPerIndex:    ptr(0),
			Volume:                  K8sVolume{Claim: "scratch", MountPath: "/scratch"},
			StateDir:                "/scratch/state",
			ShardCommand:            []string{"gdask", "count", "/scratch/in.csv"},
			MergeCommand:            []string{"gdask", "merge", "/scratch/state"},
			Resources:               K8sResources{CPU: 2},
			TTLSecondsAfterFinished: ptr(0),
		}},
	}
}

// TestK8sGolden renders each case and compares it with its golden file;
// -update rewrites them.
func TestK8sGolden(t *testing.T) {
	for _, c := range k8sCases() {
		t.Run(c.name, func(t *testing.T) {
			got, err := RenderK8s(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := RenderK8s(c.spec)
			if !bytes.Equal(got, again) {
				t.Fatal("two renderings of one spec differ")
			}
			file := filepath.Join("testdata", "k8s", c.name+".yaml")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./cluster -run K8s -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("RenderK8s differs from %s (go test ./cluster -run K8s -update rewrites it):\n%s", file, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff shows the first lines where want and got part.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return "(same lines)"
}

// decodeK8s splits RenderK8s's output into its two documents and decodes
// each strictly into a batchv1.Job: a field the type does not have, or a
// field twice, is an error.
func decodeK8s(t *testing.T, out []byte) (shard, merge *batchv1.Job) {
	t.Helper()
	docs := splitYAML(out)
	if len(docs) != 2 {
		t.Fatalf("want 2 YAML documents, got %d", len(docs))
	}
	var jobs [2]*batchv1.Job
	for i, d := range docs {
		jobs[i] = new(batchv1.Job)
		if err := yaml.UnmarshalStrict(d, jobs[i]); err != nil {
			t.Fatalf("document %d does not decode strictly into a batchv1.Job: %v\n%s", i+1, err, d)
		}
		if jobs[i].APIVersion != "batch/v1" || jobs[i].Kind != "Job" {
			t.Fatalf("document %d is %s %s, want batch/v1 Job", i+1, jobs[i].APIVersion, jobs[i].Kind)
		}
	}
	return jobs[0], jobs[1]
}

func splitYAML(out []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(out, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// TestK8sStrictDecode checks the manifests as Kubernetes reads them: the
// typed Job, field by field.
func TestK8sStrictDecode(t *testing.T) {
	for _, c := range k8sCases() {
		t.Run(c.name, func(t *testing.T) {
			out, err := RenderK8s(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			shard, merge := decodeK8s(t, out)
			s, _ := c.spec.resolve()
			n := int32(c.spec.Shards)

			// The shard Job: Indexed, N completions, at most N at once.
			sp := shard.Spec
			if shard.Name != c.spec.Name || shard.Namespace != c.spec.Namespace {
				t.Errorf("shard job is %s/%s, want %s/%s", shard.Namespace, shard.Name, c.spec.Namespace, c.spec.Name)
			}
			if sp.CompletionMode == nil || *sp.CompletionMode != batchv1.IndexedCompletion {
				t.Errorf("completionMode = %v, want Indexed", sp.CompletionMode)
			}
			wantPar := int32(min(c.spec.Shards, DefaultK8sParallelism))
			if c.spec.Parallelism > 0 {
				wantPar = int32(c.spec.Parallelism)
			}
			if deref(sp.Completions) != n || deref(sp.Parallelism) != wantPar || wantPar > n {
				t.Errorf("completions %d, parallelism %d; want %d, %d", deref(sp.Completions), deref(sp.Parallelism), n, wantPar)
			}
			if deref(sp.BackoffLimitPerIndex) != int32(*s.BackoffLimitPerIndex) || sp.BackoffLimit != nil {
				t.Errorf("backoffLimitPerIndex %v, backoffLimit %v; want %d and none", sp.BackoffLimitPerIndex, sp.BackoffLimit, *s.BackoffLimitPerIndex)
			}
			if deref(sp.MaxFailedIndexes) != int32(c.spec.MaxFailedIndexes) {
				t.Errorf("maxFailedIndexes = %v, want %d", sp.MaxFailedIndexes, c.spec.MaxFailedIndexes)
			}
			if sp.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy = %q, want Never", sp.Template.Spec.RestartPolicy)
			}

			// The merge Job: one pod.
			mp := merge.Spec
			if merge.Name != c.spec.Name+"-merge" || merge.Namespace != c.spec.Namespace {
				t.Errorf("merge job is %s/%s", merge.Namespace, merge.Name)
			}
			if mp.CompletionMode != nil || deref(mp.Completions) != 1 || deref(mp.Parallelism) != 1 {
				t.Errorf("merge job: completionMode %v, completions %v, parallelism %v; want one pod", mp.CompletionMode, mp.Completions, mp.Parallelism)
			}

			for _, job := range []*batchv1.Job{shard, merge} {
				component := map[*batchv1.Job]string{shard: "shard", merge: "merge"}[job]
				checkK8sPod(t, job, component, s)
			}
		})
	}
}

// checkK8sPod checks what both Jobs share: labels, the volume, resources,
// the replacement and failure policies, the TTL.
func checkK8sPod(t *testing.T, job *batchv1.Job, component string, s K8sSpec) {
	t.Helper()
	wantLabels := map[string]string{
		"app.kubernetes.io/name":       "gdask",
		"app.kubernetes.io/instance":   s.RunID,
		"app.kubernetes.io/component":  component,
		"app.kubernetes.io/managed-by": "gdask",
	}
	for k, v := range s.Labels {
		wantLabels[k] = v
	}
	if !reflect.DeepEqual(job.Labels, wantLabels) || !reflect.DeepEqual(job.Spec.Template.Labels, wantLabels) {
		t.Errorf("%s labels: job %v, pod %v; want %v", component, job.Labels, job.Spec.Template.Labels, wantLabels)
	}
	if job.Spec.Selector != nil || job.Spec.ManualSelector != nil {
		t.Errorf("%s job sets a selector: the Job controller makes its own", component)
	}
	pod := job.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s restartPolicy = %q, want Never (a pod failure policy requires it)", component, pod.RestartPolicy)
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != s.Volume.Claim {
		t.Fatalf("%s volumes = %+v, want the claim %q", component, pod.Volumes, s.Volume.Claim)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s has %d containers, want 1", component, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Name != component || c.Image != s.Image || string(c.ImagePullPolicy) != s.ImagePullPolicy {
		t.Errorf("%s container %q image %q pull %q", component, c.Name, c.Image, c.ImagePullPolicy)
	}
	want := []corev1.VolumeMount{{Name: pod.Volumes[0].Name, MountPath: s.Volume.MountPath}}
	if !reflect.DeepEqual(c.VolumeMounts, want) {
		t.Errorf("%s volumeMounts = %+v, want %+v", component, c.VolumeMounts, want)
	}
	if !strings.HasPrefix(s.StateDir, s.Volume.MountPath+"/") {
		t.Errorf("state dir %q is not under the mount %q", s.StateDir, s.Volume.MountPath)
	}

	r := s.Resources
	mem, cpu := c.Resources.Requests[corev1.ResourceMemory], c.Resources.Requests[corev1.ResourceCPU]
	limMem := c.Resources.Limits[corev1.ResourceMemory]
	if mem.Value() != r.MemoryLimit+r.MemorySlack || limMem.Value() != r.MemoryLimit+r.MemorySlack {
		t.Errorf("%s memory request %s limit %s, want %d bytes both", component, mem.String(), limMem.String(), r.MemoryLimit+r.MemorySlack)
	}
	if cpu.Value() != int64(r.CPU) {
		t.Errorf("%s cpu request %s, want %d", component, cpu.String(), r.CPU)
	}
	if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		t.Errorf("%s has a CPU limit", component)
	}
	if r.MemoryLimit == 0 && r.CPU == 0 && !reflect.DeepEqual(c.Resources, corev1.ResourceRequirements{}) {
		t.Errorf("%s resources %+v, want none", component, c.Resources)
	}

	if p := job.Spec.PodReplacementPolicy; p == nil || *p != batchv1.Failed {
		t.Errorf("%s podReplacementPolicy = %v, want Failed", component, p)
	}
	rules := job.Spec.PodFailurePolicy.Rules
	if len(rules) == 0 || rules[0].Action != batchv1.PodFailurePolicyActionIgnore ||
		len(rules[0].OnPodConditions) != 1 || rules[0].OnPodConditions[0].Type != corev1.DisruptionTarget {
		t.Errorf("%s pod failure policy %+v: want disruptions ignored first", component, rules)
	}
	ttl := *s.TTLSecondsAfterFinished
	if got := job.Spec.TTLSecondsAfterFinished; ttl < 0 && got != nil || ttl >= 0 && (got == nil || int(*got) != ttl) {
		t.Errorf("%s ttlSecondsAfterFinished = %v, want %d (negative: none)", component, got, ttl)
	}
}

// TestK8sStrictDecodeRejects shows the strict decode has teeth: the
// manifest with one field Kubernetes does not know, or one field twice,
// fails to decode.
func TestK8sStrictDecodeRejects(t *testing.T) {
	out, err := RenderK8s(k8sCases()[0].spec)
	if err != nil {
		t.Fatal(err)
	}
	doc := splitYAML(out)[0]
	for name, bad := range map[string][]byte{
		"unknown field":   bytes.Replace(doc, []byte("\n  completionMode: Indexed\n"), []byte("\n  completionMode: Indexed\n  completionIndex: 3\n"), 1),
		"duplicate field": bytes.Replace(doc, []byte("\n  completions: 8\n"), []byte("\n  completions: 8\n  completions: 9\n"), 1),
	} {
		if bytes.Equal(bad, doc) {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if err := yaml.UnmarshalStrict(bad, new(batchv1.Job)); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

// expandK8s expands $(VAR) in s as the kubelet expands a container's
// command and args (Kubernetes' third_party/forked/golang/expansion,
// whose rules the Kubernetes docs give for command, args and env values):
//   - $(NAME), for any text NAME up to the first ')', is NAME's value when
//     env has it and stays $(NAME) as written when it does not;
//   - $$ is one $, and the text after it is not a reference: $$(NAME)
//     gives $(NAME);
//   - a $ before anything else, a $( with no ')' after it, and a $ at the
//     end stay as written.
func expandK8s(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// TestK8sExpand checks the expander on the kubelet's own cases.
func TestK8sExpand(t *testing.T) {
	env := map[string]string{"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}
	for _, c := range []struct{ in, want string }{
		{"$(VAR_A)", "A"},
		{"$(VAR_A)-$(VAR_A)", "A-A"},
		{"___$(VAR_B)___", "___B___"},
		{"$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
		{"$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"},
		{"$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"},
		{"f000-$$VAR_A", "f000-$VAR_A"},
		{`foo\$(VAR_C)bar`, `foo\Cbar`},
		{"$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"},
		{"$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
		{"$(VAR_REF)", "$(VAR_A)"}, // a value is not expanded again
		{"foo$(VAR_EMPTY)bar", "foobar"},
		{"foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"},
		{"$?_boo_$!", "$?_boo_$!"},
		{"$VAR_A", "$VAR_A"},
		{"$(VAR_DNE)", "$(VAR_DNE)"},
		{"$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"},
		{"$$$$$$(VAR_A)", "$$$(VAR_A)"},
		{"$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"},
		{"$$$$$$$(VAR_A)", "$$$A"},
		{"${VAR_A}", "${VAR_A}"},
		{"$(VAR_B)_______$(A", "B_______$(A"},
		{"$(VAR_C)_______$(", "C_______$("},
		{"$(VAR_A)foobarzab$", "Afoobarzab$"},
		{"--$($($($($--", "--$($($($($--"},
		{"$(foo$$var)", "$(foo$$var)"},
		{"é$(VAR_A)$é", "éA$é"},
	} {
		if got := expandK8s(c.in, env); got != c.want {
			t.Errorf("expandK8s(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Whatever RenderK8s escapes comes back as it was: every string of up
	// to 7 bytes over the characters that matter, and a few longer ones.
	check := func(s string) {
		if got := expandK8s(escape(s), env); got != s {
			t.Errorf("expandK8s(escape(%q)) = %q", s, got)
		}
	}
	var all func(prefix string, n int)
	all = func(prefix string, n int) {
		check(prefix)
		if n > 0 {
			for _, r := range []string{"$", "(", ")", "V", "VAR_A", "é"} {
				all(prefix+r, n-1)
			}
		}
	}
	all("", 7)
	check(`x == "$(JOB_COMPLETION_INDEX)" $HOME $`)
	if got := escape("$HOME/$$/$(X)/a$"); got != "$HOME/$$$/$$(X)/a$" {
		t.Errorf("escape doubles more than it must: %q", got)
	}
}

// kubeletEnv is the container's environment as the kubelet makes it for a
// pod with these annotations: each env var in order, a value expanded
// with the ones before it, a field reference read from the pod.
func kubeletEnv(t *testing.T, c corev1.Container, annotations map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = expandK8s(e.Value, env)
		case e.ValueFrom.FieldRef != nil:
			p := e.ValueFrom.FieldRef.FieldPath
			key, ok := strings.CutPrefix(p, "metadata.annotations['")
			key, ok2 := strings.CutSuffix(key, "']")
			if !ok || !ok2 {
				t.Fatalf("env %s: field path %q is not an annotation", e.Name, p)
			}
			env[e.Name] = annotations[key] // the downward API gives "" for a missing key
		default:
			t.Fatalf("env %s: unexpected source %+v", e.Name, e.ValueFrom)
		}
	}
	return env
}

// standIn builds a program that prints its arguments as a JSON array,
// named gdask in a directory put first on PATH, so that the rendered
// command runs as the image would run it: no shell, argv as rendered.
func standIn(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	src := filepath.Join(dir, "main.go")
	prog := "package main\n\nimport (\n\t\"encoding/json\"\n\t\"os\"\n)\n\n" +
		"func main() { json.NewEncoder(os.Stdout).Encode(os.Args[1:]) }\n"
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "gdask"), src)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the stand-in: %v\n%s", err, out)
	}
	return dir
}

// runK8s runs argv (argv[0] found on PATH, or a path whose base name the
// stand-in takes) and returns the arguments the program received.
func runK8s(t *testing.T, dir string, argv []string) []string {
	t.Helper()
	name := argv[0]
	if strings.Contains(name, "/") {
		name = filepath.Join(dir, filepath.Base(name))
		if _, err := os.Stat(name); err != nil {
			if err := os.Link(filepath.Join(dir, "gdask"), name); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(name, argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running %q: %v\n%s", argv, err, stderr.Bytes())
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("stand-in printed %q: %v", out, err)
	}
	return got
}

// TestK8sIndexWiring takes each shard pod's command line as the kubelet
// would make it, with JOB_COMPLETION_INDEX=i from the annotation the Job
// controller sets, checks that it ends in --shard=i/N --state-out=DIR and
// keeps the user's arguments byte for byte, and runs it.
func TestK8sIndexWiring(t *testing.T) {
	dir := standIn(t)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, c := range k8sCases() {
		t.Run(c.name, func(t *testing.T) {
			out, err := RenderK8s(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			shard, merge := decodeK8s(t, out)
			s, _ := c.spec.resolve()
			n := c.spec.Shards
			sc := shard.Spec.Template.Spec.Containers[0]
			user := c.spec.ShardCommand

			seen := map[string]bool{}
			for i := range n {
				for _, attempt := range []int{0, *s.BackoffLimitPerIndex} {
					env := kubeletEnv(t, sc, map[string]string{
						batchv1.JobCompletionIndexAnnotation:   strconv.Itoa(i),
						batchv1.JobIndexFailureCountAnnotation: strconv.Itoa(attempt),
					})
					var argv []string
					for _, a := range slices.Concat(sc.Command, sc.Args) {
						argv = append(argv, expandK8s(a, env))
					}
					wantTail := []string{
						"--shard-attempt=" + strconv.Itoa(attempt),
						fmt.Sprintf("--shard=%d/%d", i, n),
						"--state-out=" + s.StateDir,
					}
					if !slices.Equal(argv, slices.Concat(user, wantTail)) {
						t.Fatalf("shard %d attempt %d runs\n  %q\nwant\n  %q", i, attempt, argv, slices.Concat(user, wantTail))
					}
					if !strings.HasPrefix(argv[len(argv)-1], "--state-out="+s.Volume.MountPath+"/") {
						t.Fatalf("shard %d writes its state to %q, not under the volume %q", i, argv[len(argv)-1], s.Volume.MountPath)
					}
					if got := runK8s(t, dir, argv); !slices.Equal(got, argv[1:]) {
						t.Fatalf("shard %d: the program got\n  %q\nwant\n  %q", i, got, argv[1:])
					}
					seen[argv[len(argv)-2]] = true
				}
			}
			if len(seen) != n {
				t.Errorf("%d shards ran %d distinct --shard values", n, len(seen))
			}

			// The merge: the user's command, then the wait flags.
			mc := merge.Spec.Template.Spec.Containers[0]
			env := kubeletEnv(t, mc, nil)
			var argv []string
			for _, a := range slices.Concat(mc.Command, mc.Args) {
				argv = append(argv, expandK8s(a, env))
			}
			want := slices.Concat(c.spec.MergeCommand, []string{
				"--wait=" + formatDuration(s.MergeWait),
				"--wait-shards=" + strconv.Itoa(n),
				"--wait-attempts=" + strconv.Itoa(*s.BackoffLimitPerIndex+1),
			})
			if !slices.Equal(argv, want) {
				t.Fatalf("merge runs\n  %q\nwant\n  %q", argv, want)
			}
			if d, err := time.ParseDuration(strings.TrimPrefix(argv[len(argv)-3], "--wait=")); err != nil || d != s.MergeWait {
				t.Errorf("merge --wait reads back as %v, %v; want %v", d, err, s.MergeWait)
			}
			if got := runK8s(t, dir, argv); !slices.Equal(got, argv[1:]) {
				t.Fatalf("merge: the program got %q, want %q", got, argv[1:])
			}
		})
	}
}

// TestK8sInvalid checks that a spec Kubernetes would refuse, or that
// could not work, is an error that says why.
func TestK8sInvalid(t *testing.T) {
	good := k8sCases()[0].spec
	for _, c := range []struct {
		name string
		edit func(*K8sSpec)
		want string
	}{
		{"upper-case name", func(s *K8sSpec) { s.Name = "Gdask_Run" }, `invalid job name "Gdask_Run": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`},
		{"dotted name", func(s *K8sSpec) { s.Name = "gdask.run" }, `invalid job name "gdask.run": must not contain dots`},
		{"empty name", func(s *K8sSpec) { s.Name = "" }, "missing job name"},
		{"name too long for the merge", func(s *K8sSpec) { s.Name = strings.Repeat("a", 58) }, `longer than 57 characters, so the merge job's name "` + strings.Repeat("a", 58) + `-merge" would not fit a label value (63)`},
		{"no shards", func(s *K8sSpec) { s.Shards = 0 }, "invalid shard count 0: want 1 to 100000"},
		{"negative shards", func(s *K8sSpec) { s.Shards = -3 }, "invalid shard count -3"},
		{"too many shards", func(s *K8sSpec) { s.Shards = 100_001 }, "invalid shard count 100001"},
		{"no image", func(s *K8sSpec) { s.Image = "" }, "missing image: name the image that holds gdask"},
		{"image with a space", func(s *K8sSpec) { s.Image = "gdask latest" }, `invalid image "gdask latest"`},
		{"pull policy", func(s *K8sSpec) { s.ImagePullPolicy = "Sometimes" }, `invalid image pull policy "Sometimes": want Always, IfNotPresent or Never`},
		{"volume without a mount path", func(s *K8sSpec) { s.Volume.MountPath = "" }, `volume "trips" has no mount path: the shards and the merge find the state directory under it`},
		{"no volume", func(s *K8sSpec) { s.Volume = K8sVolume{} }, "missing volume: the shards and the merge share their state directory on a PersistentVolumeClaim"},
		{"volume without a claim", func(s *K8sSpec) { s.Volume.Claim = "" }, "volume mounted at /data has no claim name"},
		{"relative mount path", func(s *K8sSpec) { s.Volume.MountPath = "data" }, `invalid mount path data for volume "trips"`},
		{"root mount path", func(s *K8sSpec) { s.Volume.MountPath = "/" }, `invalid mount path / for volume "trips"`},
		{"state dir elsewhere", func(s *K8sSpec) { s.StateDir = "/tmp/state" }, "invalid state directory /tmp/state: want a clean absolute path under the volume's mount path /data"},
		{"state dir is the mount", func(s *K8sSpec) { s.StateDir = "/data" }, "invalid state directory /data"},
		{"state dir beside the mount", func(s *K8sSpec) { s.StateDir = "/database" }, "invalid state directory /database"},
		{"parallelism above shards", func(s *K8sSpec) { s.Parallelism = 9 }, "invalid parallelism 9: more than the 8 shards"},
		{"negative retries", func(s *K8sSpec) { s.BackoffLimitPerIndex = ptr(-1) }, "invalid backoff limit per index -1"},
		{"max failed above shards", func(s *K8sSpec) { s.MaxFailedIndexes = 9 }, "invalid max failed indexes 9: want 0 to the 8 shards"},
		{"no run id", func(s *K8sSpec) { s.RunID = "" }, "missing run id"},
		{"run id not a label value", func(s *K8sSpec) { s.RunID = "run 1" }, `invalid run id "run 1"`},
		{"namespace", func(s *K8sSpec) { s.Namespace = "Team_A" }, `invalid namespace "Team_A"`},
		{"no shard command", func(s *K8sSpec) { s.ShardCommand = nil }, "missing shard command"},
		{"shard flags given", func(s *K8sSpec) { s.ShardCommand = append(s.ShardCommand, "--shard=1/8") }, "invalid shard command: it already has --shard, which the manifest adds"},
		{"state-out given", func(s *K8sSpec) { s.ShardCommand = append(s.ShardCommand, "--state-out", "/x") }, "it already has --state-out"},
		{"wait given", func(s *K8sSpec) { s.MergeCommand = append(s.MergeCommand, "--wait=1h") }, "invalid merge command: it already has --wait"},
		{"negative wait", func(s *K8sSpec) { s.MergeWait = -time.Second }, "invalid merge wait -1s"},
		{"slack without a limit", func(s *K8sSpec) { s.Resources.MemoryLimit = 0 }, "memory slack 536870912 without a memory limit"},
		{"negative cpu", func(s *K8sSpec) { s.Resources.CPU = -1 }, "invalid cpu -1"},
		{"label key", func(s *K8sSpec) { s.Labels = map[string]string{"bad key": "x"} }, `invalid label key "bad key"`},
		{"label value", func(s *K8sSpec) { s.Labels = map[string]string{"team": "data team"} }, `invalid label "team" value "data team"`},
		{"our label", func(s *K8sSpec) { s.Labels = map[string]string{"app.kubernetes.io/instance": "x"} }, `invalid label "app.kubernetes.io/instance": gdask sets it`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := good
			s.Volume = good.Volume
			s.ShardCommand = slices.Clone(good.ShardCommand)
			s.MergeCommand = slices.Clone(good.MergeCommand)
			c.edit(&s)
			out, err := RenderK8s(s)
			if err == nil {
				t.Fatalf("RenderK8s accepted it:\n%s", out)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "invalid kubernetes job: ") {
				t.Errorf("error %q\nwant it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}

	// Every problem is reported at once.
	s := good
	s.Name, s.Image, s.Shards = "X", "", 0
	_, err := RenderK8s(s)
	for _, want := range []string{"invalid job name", "missing image", "invalid shard count"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want it to name %q", err, want)
		}
	}
}

// The quantities the manifests write read as the API's own writer writes
// them (resource.Quantity), for sizes and core counts of every shape.
func TestK8sQuantities(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := []int64{0, 1, 999, 1000, 1001, 1023, 1024, 1025, 1500, 2048, 1 << 20, 3 << 20, 1<<20 + 1, 4608 << 20,
		1 << 30, 5 << 30, 1000000, 2500000, 1 << 40, 1 << 50, 1 << 60, math.MaxInt64, 1_000_000_000_000_000_000}
	for range 2000 {
		v := rng.Int64N(1 << 40)
		vals = append(vals, v, v&^(1<<20-1), v&^(1<<10-1), v/1000*1000, v/1_000_000*1_000_000)
	}
	for _, v := range vals {
		if got, want := binaryQuantity(v), resource.NewQuantity(v, resource.BinarySI).String(); got != want {
			t.Errorf("binaryQuantity(%d) = %q, the API writes %q", v, got, want)
		}
		if got, want := decimalQuantity(v), resource.NewQuantity(v, resource.DecimalSI).String(); got != want {
			t.Errorf("decimalQuantity(%d) = %q, the API writes %q", v, got, want)
		}
	}
}

// TestK8sDefaults checks the defaults a zero field takes.
func TestK8sDefaults(t *testing.T) {
	base := k8sCases()[0].spec
	for _, c := range []struct{ shards, want int }{{1, 1}, {8, 8}, {16, 16}, {17, 16}, {1000, 16}} {
		s := base
		s.Shards = c.shards
		r, err := s.resolve()
		if err != nil {
			t.Fatal(err)
		}
		if r.Parallelism != c.want {
			t.Errorf("%d shards: parallelism %d, want %d", c.shards, r.Parallelism, c.want)
		}
	}
	r, err := base.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if *r.BackoffLimitPerIndex != 1 || r.MaxFailedIndexes != 0 || r.ImagePullPolicy != "IfNotPresent" ||
		r.MergeWait != 24*time.Hour || *r.TTLSecondsAfterFinished != 86400 || r.StateDir != "/data/gdask/7f3c2a" {
		t.Errorf("defaults: %+v", r)
	}
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s",
		time.Hour + 5*time.Second: "1h0m5s", 10 * time.Minute: "10m", 1500 * time.Millisecond: "1.5s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		} else if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("formatDuration(%v) = %q reads back as %v, %v", d, got, back, err)
		}
	}
	// The memory quantities are exact, in the units Kubernetes prints.
	q := resource.NewQuantity(4<<30+512<<20, resource.BinarySI)
	if q.String() != "4608Mi" {
		t.Errorf("4.5GiB prints as %s", q)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
