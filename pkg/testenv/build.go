// Package testenv boots the real Postern programs under master for
// end-to-end tests and the load generator: it builds the binaries once per
// test binary, writes a self-contained main.cf and master.cf in a temporary
// directory with the SMTP service on a free loopback port, runs master in
// the foreground and tears the whole process group down afterwards.
//
// It is imported only by tests and by cmd/postern-bench.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Programs are the program folders Build looks for at the repository root;
// those without a main.go (not written yet) are skipped.
var Programs = []string{
	"master", "smtpd", "pickup", "cleanup", "qmgr", "local", "bounce",
	"postdrop", "sendmail", "postmap", "newaliases", "pop3d", "imapd",
	"authd", "postfix", "postconf", "postqueue", "postsuper", "smtp", "postcat", "showq", "postlogd",
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// RepoRoot returns the directory holding go.mod, searched upwards from the
// working directory (go test runs in the package's folder).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Present lists the programs of Programs that exist under root.
func Present(root string) []string {
	var out []string
	for _, p := range Programs {
		if _, err := os.Stat(filepath.Join(root, p, "main.go")); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// BuildInto compiles every present program into dir with one go build.
// When that fails (a program half-written in a shared working tree), each
// program is built on its own and those that do not compile are left out,
// with a warning on standard error; master then skips their services. A
// broken program still fails go vet ./... in make test.
func BuildInto(root, dir string) error {
	progs := Present(root)
	if len(progs) == 0 {
		return fmt.Errorf("no programs found under %s", root)
	}
	if err := goBuild(root, dir, progs...); err == nil {
		return nil
	}
	built := 0
	for _, p := range progs {
		if err := goBuild(root, dir, p); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: warning: %s does not build, left out: %v\n", p, err)
			continue
		}
		built++
	}
	if built == 0 {
		return fmt.Errorf("no program builds")
	}
	return nil
}

func goBuild(root, dir string, progs ...string) error {
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, p := range progs {
		args = append(args, "./"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Build compiles the programs once per test binary and returns the
// directory holding them. The directory is world-readable so that children
// started as mail_owner can be executed; Main removes it at the end.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "postern-bin-")
		if err != nil {
			buildErr = err
			return
		}
		os.Chmod(dir, 0755)
		binDir = dir
		buildErr = BuildInto(root, dir)
	})
	if buildErr != nil {
		t.Fatalf("testenv: build: %v", buildErr)
	}
	return binDir
}

// Main runs the tests of a package (call it from TestMain) and removes the
// binaries Build made.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// Has reports whether the program was built into binDir.
func Has(binDir, program string) bool {
	st, err := os.Stat(filepath.Join(binDir, program))
	return err == nil && st.Mode().IsRegular()
}
