package runas

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// status reads fields of /proc/<path>/status.
func status(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// A Threads call runs with the user's file-system identity, the user's
// one group and no capabilities at all, on a thread of its own; every
// other thread of the process stays root, and root's work afterwards is
// unaffected.
func TestThreadsIdentity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	const uid, gid = 65534, 65533
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o1777)
	closed := filepath.Join(dir, "rootonly")
	os.Mkdir(closed, 0o700)

	var th Threads
	var tid int
	var inside map[string]string
	err := th.Do(Identity{uid, gid}, func() error {
		tid = unix.Gettid()
		inside = status(t, "/proc/thread-self/status")
		f, err := os.OpenFile(filepath.Join(dir, "mine"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		f.Close()
		// Root's directory is closed to the user: no CAP_DAC_OVERRIDE.
		if _, err := os.Create(filepath.Join(closed, "x")); !os.IsPermission(err) {
			t.Errorf("create in a root-only directory as the user: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapInh"} {
		if v, _ := strconv.ParseUint(inside[k], 16, 64); v != 0 {
			t.Errorf("%s on the user's thread = %s, want 0", k, inside[k])
		}
	}
	if f := strings.Fields(inside["Uid"]); len(f) != 4 || f[3] != "65534" || f[0] != "0" {
		t.Errorf("Uid on the user's thread: %q (real, effective, saved, fs)", inside["Uid"])
	}
	if f := strings.Fields(inside["Gid"]); len(f) != 4 || f[3] != "65533" {
		t.Errorf("Gid on the user's thread: %q", inside["Gid"])
	}
	if inside["Groups"] != "65533" {
		t.Errorf("Groups on the user's thread: %q", inside["Groups"])
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, "mine"), &st); err != nil || st.Uid != uid || st.Gid != gid {
		t.Fatalf("file made as the user: uid %d gid %d, %v", st.Uid, st.Gid, err)
	}

	// Every other thread is still root, with its capabilities.
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		if task.Name() == strconv.Itoa(tid) {
			continue
		}
		s := status(t, "/proc/self/task/"+task.Name()+"/status")
		if f := strings.Fields(s["Uid"]); len(f) != 4 || f[3] != "0" || s["CapEff"] == "0000000000000000" {
			t.Errorf("thread %s: Uid %q CapEff %s", task.Name(), s["Uid"], s["CapEff"])
		}
	}
	// A root operation afterwards, from any goroutine, is root's.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := filepath.Join(closed, "root"+strconv.Itoa(i))
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Error(err)
				return
			}
			var st syscall.Stat_t
			if syscall.Stat(p, &st); st.Uid != 0 {
				t.Errorf("%s owned by %d", p, st.Uid)
			}
		}()
	}
	wg.Wait()
}

// An idle thread ends, and the OS thread with it: it never returns to
// the runtime with the user's identity.
func TestThreadsIdle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	th := Threads{Idle: 50 * time.Millisecond, Max: 2}
	var tid int
	th.Do(Identity{65534, 65534}, func() error { tid = unix.Gettid(); return nil })
	task := "/proc/self/task/" + strconv.Itoa(tid)
	if _, err := os.Stat(task); err != nil {
		t.Fatalf("thread %d: %v", tid, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for th.Len() > 0 || exists(task) {
		if time.Now().After(deadline) {
			t.Fatalf("thread %d still there (%d identities)", tid, th.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// More identities than Max: the least recently used idle one goes.
	for _, u := range []int{1001, 1002, 1003} {
		if err := th.Do(Identity{u, u}, func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := th.Len(); n != 2 {
		t.Fatalf("%d identities with a thread, want 2", n)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// A call that fails to take the identity gets the error.
func TestThreadsBadIdentity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	var th Threads
	ran := false
	if err := th.Do(Identity{-5, 7}, func() error { ran = true; return nil }); err == nil || ran {
		t.Fatalf("bad identity: %v, ran %v", err, ran)
	}
}
