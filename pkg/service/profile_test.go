package service

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStartProfile(t *testing.T) {
	t.Setenv(ProfileEnv, "")
	StartProfile("off")() // no directory: nothing happens

	dir := t.TempDir()
	t.Setenv(ProfileEnv, dir)
	stop := StartProfile("/usr/lib/postern/qmgr")
	stop()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("profile dir: %v %v", ents, err)
	}
	if m, _ := filepath.Match("qmgr.*.cpu.pprof", ents[0].Name()); !m {
		t.Errorf("profile name %q", ents[0].Name())
	}
	if fi, _ := ents[0].Info(); fi.Size() == 0 {
		t.Errorf("empty profile")
	}
}
