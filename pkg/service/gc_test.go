package service

import (
	"runtime/debug"
	"testing"
)

// Daemons collect at gcPercent, unless the environment sets GOGC or GOMEMLIMIT.
func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
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
	if p := debug.SetGCPercent(100); p != gcPercent {
		t.Fatalf("GC percent %d", p)
	}
}
