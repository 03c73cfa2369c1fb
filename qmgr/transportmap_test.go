package main

import (
	"sync"
	"time"

	"os"
	"path/filepath"
	"postern/pkg/ipc"
	"strings"
	"testing"

	"postern/pkg/config"
)

// TestTransportMaps: transport(5) lookup order (address, domain, .parent, *) and the rules for
// empty transport or next-hop parts.
func TestTransportMaps(t *testing.T) {
	dir := t.TempDir()
	tf := filepath.Join(dir, "transport")
	os.WriteFile(tf, []byte(`# transport(5)
example.com      smtp:[127.0.0.1]:2525
.parent.org      relay:
user@special.net error:5.1.2 address gone
special.net      :[mx.special.net]
localhost        local:
*                smtp:[fallback.test]
`), 0o644)
	cfg, err := config.Parse(strings.NewReader("compatibility_level = 3.6\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Override("transport_maps", "texthash:"+tf)
	cfg.Override("mydestination", "localhost")
	cfg.Override("relayhost", "")
	r, err := newResolver(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rcpt, want := range map[string]route{
		"a@example.com":        {"smtp", "[127.0.0.1]:2525"},
		"a@deep.parent.org":    {"relay", "deep.parent.org"},
		"a@parent.org":         {"smtp", "[fallback.test]"}, // ".parent.org" matches subdomains only
		"user@special.net":     {errorTransport, "5.1.2 address gone"},
		"other@special.net":    {"smtp", "[mx.special.net]"},
		"x@anywhere.elsewhere": {"smtp", "[fallback.test]"},
	} {
		if got := r.resolve(rcpt); got != want {
			t.Errorf("resolve(%s) = %+v, want %+v", rcpt, got, want)
		}
	}
	if got := r.resolve("root@localhost"); got != r.local { // "local:" keeps local_transport's next hop
		t.Errorf("resolve(root@localhost) = %+v, want %+v", got, r.local)
	}
	if st := errorStatus("5.1.2 address gone"); st.Code != "5.1.2" || st.Text != "address gone" {
		t.Errorf("errorStatus = %+v", st)
	}
	if st := errorStatus("no code here"); st.Code != "5.0.0" {
		t.Errorf("errorStatus plain = %+v", st)
	}
}

// TestRateDelay: <transport>_destination_rate_delay spaces deliveries to one destination and
// allows only one at a time there, while other destinations go on.
func TestRateDelay(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var starts []time.Time
	a := e.agent("local", func(req ipc.Attrs) ipc.Attrs {
		if req.Get("recipient") == "same@localhost" {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
		}
		return status("0", "2.0.0", "delivered to mailbox")(req)
	})
	e.start(map[string]string{"local_destination_rate_delay": "1s"})
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, e.submit("alice@localhost", []string{"same@localhost"}, nil))
	}
	other := e.submit("alice@localhost", []string{"other@localhost"}, nil)
	e.waitLog(other + ": removed")
	for _, id := range ids {
		e.waitLog(id + ": removed")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 4 {
		t.Fatalf("%d deliveries to same@localhost", len(starts))
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 950*time.Millisecond {
			t.Errorf("delivery %d came %v after the previous one, rate delay is 1s", i, gap)
		}
	}
	if a.maxDest > 1 {
		t.Errorf("%d concurrent deliveries to one destination under a rate delay", a.maxDest)
	}
}
