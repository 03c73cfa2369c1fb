package service

import (
	"runtime/debug"
	"testing"
)

// Daemons collect at GOGC=400 under a soft memory limit, unless the environment sets either.
func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(old); debug.SetMemoryLimit(oldLimit) }()
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			debug.SetGCPercent(100)
			t.Setenv(env, "200")
			TuneGC()
			if p := debug.SetGCPercent(100); p != 100 {
				t.Fatalf("%s set, GC percent changed to %d", env, p)
			}
		})
	}
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	TuneGC()
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); p != gcPercent || l != memoryLimit {
		t.Fatalf("GC percent %d, limit %d", p, l)
	}
}
