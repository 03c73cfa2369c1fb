package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestTransportMaps: `remote.test smtp:[127.0.0.1]:PORT` in transport_maps sends that
// domain's mail to the given host without an MX lookup; other entries bounce by error:.
func TestTransportMaps(t *testing.T) {
	need(t, append(core, "smtp")...)
	sink := testenv.NewSink(t, "127.0.0.1", false)
	dir := testenv.TempRoot(t, "ptransport-")
	os.Chmod(dir, 0o755)
	tf := filepath.Join(dir, "transport")
	os.WriteFile(tf, []byte(fmt.Sprintf("remote.test smtp:[127.0.0.1]:%d\nclosed.test error:5.7.1 this domain takes no mail\n", sink.Port)), 0o644)
	e := testenv.Start(t, testenv.Options{MainCF: "transport_maps = texthash:" + tf + "\n"})
	e.SendMail(t, "alice@postern.test", []string{"bob@remote.test"}, "Subject: by transport map\r\n\r\nhi\r\n")
	e.WaitFor(t, 30*time.Second, func() bool {
		for _, m := range sink.Received() {
			if len(m.To) == 1 && m.To[0] == "bob@remote.test" {
				return true
			}
		}
		return false
	})
	e.WaitLog(t, regexp.MustCompile(fmt.Sprintf(`postfix/smtp\[\d+\]: [0-9A-F]+: to=<bob@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*status=sent`, sink.Port)))
	e.SendMail(t, "alice@postern.test", []string{"carol@closed.test"}, "Subject: closed\r\n\r\nhi\r\n")
	e.WaitLog(t, regexp.MustCompile(`to=<carol@closed\.test>, relay=none, .*dsn=5\.7\.1, status=bounced \(this domain takes no mail\)`))
}
