package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gdask/gdask/cmd"
)

// TestMain lets testscript run the gdask command in-process (the test
// binary re-executes itself as "gdask").
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gdask": func() { os.Exit(cmd.Main()) },
	})
}

// TestScripts runs testdata/script/*.txtar: every command and every bad
// input, with expected stdout, stderr and exit status.
// go test -run TestScripts -update rewrites the expected outputs.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Getuid() == 0, nil
			}
			return false, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// sha256 FILE HEX: the file's SHA-256 is HEX.
			"sha256": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: sha256 FILE HEX")
				}
				sum := sha256.Sum256([]byte(ts.ReadFile(args[0])))
				got := hex.EncodeToString(sum[:])
				if (got == args[1]) == neg {
					ts.Fatalf("sha256 %s = %s, want %s%s", args[0], got, map[bool]string{true: "not "}[neg], args[1])
				}
			},
			// truncate SRC N DST: DST is the first N bytes of SRC.
			"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 || neg {
					ts.Fatalf("usage: truncate SRC N DST")
				}
				n, err := strconv.Atoi(args[1])
				ts.Check(err)
				data := ts.ReadFile(args[0])
				ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(data[:min(n, len(data))]), 0o644))
			},
			// nofiles DIR GLOB: nothing in DIR matches GLOB (no temp files left).
			"nofiles": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: nofiles DIR GLOB")
				}
				m, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), args[1]))
				ts.Check(err)
				if (len(m) == 0) == neg {
					ts.Fatalf("files matching %s in %s: %v", args[1], args[0], m)
				}
			},
		},
	})
}
