package service

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeDgram: datagrams are handed over one by one and in order, one longer than the
// bound is cut to it (no panic, no error), and the server returns after max_idle without one.
func TestServeDgram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postlog")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := strings.Repeat("x", 70000)
	for _, s := range []string{"first", big, "", "last"} {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	start := time.Now()
	err = ServeDgram([]net.PacketConn{pc}, 100, 500*time.Millisecond, func(b []byte) {
		got = append(got, string(bytes.Clone(b)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 5*time.Second {
		t.Errorf("returned after %v, want max_idle", d)
	}
	if len(got) != 4 || got[0] != "first" || got[1] != big[:100] || got[2] != "" || got[3] != "last" {
		t.Fatalf("got %d datagrams: %q", len(got), got)
	}
	if err := ServeDgram(nil, 100, time.Second, func([]byte) {}); err == nil {
		t.Error("no sockets: no error")
	}
}
