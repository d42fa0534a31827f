package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportGraph keeps the package graph of ARCHITECTURE.md: imports point
// down only, and Cobra, viper and the progress bar stay in cmd.
func TestImportGraph(t *testing.T) {
	const mod = "github.com/gdask/gdask/"
	allowed := map[string][]string{
		"cmd":     {"engine", "readers", "writers", "plan"},
		"plan":    {"readers"},
		"engine":  {"plan", "readers"},
		"readers": {},
		"writers": {},
	}
	cmdOnly := []string{"github.com/spf13/cobra", "github.com/spf13/viper", "github.com/schollz/progressbar"}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		name := strings.TrimPrefix(pkg, mod)
		top, _, _ := strings.Cut(name, "/")
		if pkg == strings.TrimSuffix(mod, "/") {
			continue // main
		}
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, mod) {
				dep, _, _ := strings.Cut(strings.TrimPrefix(imp, mod), "/")
				if dep == top {
					continue
				}
				ok := false
				for _, a := range allowed[top] {
					ok = ok || a == dep
				}
				if !ok {
					t.Errorf("%s imports %s: against the package graph", name, imp)
				}
			}
			for _, c := range cmdOnly {
				if strings.HasPrefix(imp, c) && top != "cmd" {
					t.Errorf("%s imports %s, which belongs in cmd only", name, imp)
				}
			}
		}
	}
}
