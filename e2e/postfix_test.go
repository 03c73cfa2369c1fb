package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestPostfixCommand checks postfix status and that a second master
// refuses to start over a running one.
func TestPostfixCommand(t *testing.T) {
	need(t, "master", "smtpd", "postfix")
	e := testenv.Start(t, testenv.Options{})
	out := e.Postfix(t, "status")
	if !strings.Contains(out, "is running") {
		t.Errorf("postfix status: %q", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.BinDir, "master"), "-d", "-c", e.ConfigDir)
	b, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("a second master kept running: %s", b)
	}
	if err == nil {
		t.Errorf("a second master exited 0: %s", b)
	}
	e.WaitLog(t, regexpMust(`fatal: the Postfix mail system is already running`))

	if out, err := e.Run("postfix", "-c", e.ConfigDir, "start"); err == nil {
		t.Errorf("postfix start while running exited 0: %s", out)
	} else if !strings.Contains(out, "already running") {
		t.Errorf("postfix start while running: %s", out)
	}
	// The first master is unharmed.
	c := e.SMTP(t)
	c.Expect(220)
	c.Cmd("QUIT", 221)
}
