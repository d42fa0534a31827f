package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedImports is the package graph of ARCHITECTURE.md: what each
// package of gdask may import of gdask. Imports point down only; the
// operator packages (engine/stream, engine/hashagg, engine/sorter) share
// the execution contracts of engine/exec and never import the engine nor
// each other; the plan never imports the engine.
var allowedImports = map[string][]string{
	"cmd": {"cluster", "dashboard", "engine", "engine/exec", "plan", "readers", "writers", "internal/fsname", "internal/gctune"},
	// The live page and the report, fed by the engine's events.
	"dashboard":      {"engine", "engine/exec", "plan"},
	"engine":         {"engine/exec", "engine/stream", "engine/hashagg", "engine/sorter", "engine/spill", "plan", "readers", "writers", "internal/cacheline", "internal/fsname"},
	"engine/exec":    {"engine/spill", "plan"},
	"engine/stream":  {"engine/exec", "plan"},
	"engine/hashagg": {"engine/exec", "engine/agg", "engine/paged", "engine/spill", "plan", "readers", "internal/fsname"},
	"engine/sorter":  {"engine/exec", "engine/paged", "engine/spill", "plan", "readers", "internal/cacheline", "internal/hugepage"},
	"engine/agg":     {"engine/paged", "plan"},
	"engine/paged":   {},
	"engine/spill":   {"internal/fsname"},
	"plan":           {"readers", "internal/fsname"},
	"readers":        {"internal/cacheline", "internal/fsname"},
	"writers":        {"internal/fsname"},
	// Shards: their state files and directory, the Slurm and Kubernetes
	// manifests; nothing of the engine (the engine writes the bodies).
	"cluster": {"writers", "internal/fsname"},
	// Allocation of per-worker buffers on cache lines of their own.
	"internal/cacheline": {},
	// File names in messages, quoted when they hold bytes that do not print.
	"internal/fsname": {},
	// The garbage collector's percent, with a floor heap size.
	"internal/gctune": {},
	// Large buffers filled whole, in memory advised for huge pages.
	"internal/hugepage": {},
	// A throwaway Slurm cluster for the tests of cluster and cmd.
	"internal/slurmtest": {},
}

// TestImportGraph checks every import between gdask's packages against
// allowedImports, that Cobra, viper and the progress bar stay in cmd, and
// the Kubernetes API types and YAML in cluster.
func TestImportGraph(t *testing.T) {
	const mod = "github.com/gdask/gdask"
	cmdOnly := []string{"github.com/spf13/cobra", "github.com/spf13/viper", "github.com/schollz/progressbar"}
	clusterOnly := []string{"k8s.io/", "sigs.k8s.io/"}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		if pkg == mod {
			continue // main
		}
		name := strings.TrimPrefix(pkg, mod+"/")
		allowed, known := allowedImports[name]
		if !known {
			t.Errorf("package %s is not in the package graph: add it to allowedImports and ARCHITECTURE.md", name)
		}
		for _, imp := range strings.Fields(imports) {
			if dep, ok := strings.CutPrefix(imp, mod+"/"); ok && !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s: against the package graph", name, dep)
			}
			for _, c := range cmdOnly {
				if strings.HasPrefix(imp, c) && name != "cmd" {
					t.Errorf("%s imports %s, which belongs in cmd only", name, imp)
				}
			}
			for _, c := range clusterOnly {
				if strings.HasPrefix(imp, c) && name != "cluster" {
					t.Errorf("%s imports %s, which belongs in cluster only", name, imp)
				}
			}
		}
	}
}
