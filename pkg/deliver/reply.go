package deliver

import (
	"errors"

	"postern/pkg/dsn"
	"postern/pkg/ipc"
)

// Reply is an agent's answer for one recipient.
type Reply struct {
	Status   dsn.Status
	DiagType string // "smtp" when DiagText is a remote server's reply
	DiagText string
	MTAType  string // "dns" when MTAName is a remote host's name
	MTAName  string
}

// Attrs is the reply's status block: status, dsn and reason, then diag_type/diag_text and
// mta_type/mta_mname when there is a diagnostic and a remote host.
func (r Reply) Attrs() ipc.Attrs {
	code := "4"
	switch r.Status.Class() {
	case '2':
		code = "0"
	case '5':
		code = "5"
	}
	out := ipc.Attrs{{Name: "status", Value: code}, {Name: "dsn", Value: r.Status.Code}, {Name: "reason", Value: r.Status.Text}}
	if r.DiagText != "" {
		out = append(out, ipc.Attr{Name: "diag_type", Value: r.DiagType}, ipc.Attr{Name: "diag_text", Value: r.DiagText})
	}
	if r.MTAName != "" {
		out = append(out, ipc.Attr{Name: "mta_type", Value: r.MTAType}, ipc.Attr{Name: "mta_mname", Value: r.MTAName})
	}
	return out
}

// ErrMalformedReply is returned for a reply without a status.
var ErrMalformedReply = errors.New("malformed response")

// ParseReplies reads the status blocks of a reply, one per recipient in request order. Each
// status gets a dsn code of its class: status=0 is 2.X.X, 5 is 5.X.X, anything else is a
// temporary failure (4.X.X, with a reason when the agent gave none).
func ParseReplies(a ipc.Attrs) ([]Reply, error) {
	var out []Reply
	for i, at := range a {
		if at.Name != "status" {
			continue
		}
		// The block runs to the next status.
		end := len(a)
		for j := i + 1; j < len(a); j++ {
			if a[j].Name == "status" {
				end = j
				break
			}
		}
		b := a[i+1 : end]
		out = append(out, Reply{Status: status(at.Value, b.Get("dsn"), b.Get("reason")),
			DiagType: b.Get("diag_type"), DiagText: b.Get("diag_text"),
			MTAType: b.Get("mta_type"), MTAName: b.Get("mta_mname")})
	}
	if len(out) == 0 {
		return nil, ErrMalformedReply
	}
	return out, nil
}

func status(code, dsnCode, reason string) dsn.Status {
	switch code {
	case "0":
		if dsnCode == "" || dsnCode[0] != '2' {
			dsnCode = "2.0.0"
		}
	case "5":
		if dsnCode == "" || dsnCode[0] != '5' {
			dsnCode = "5.0.0"
		}
	default:
		if dsnCode == "" || dsnCode[0] != '4' {
			dsnCode = "4.0.0"
		}
		if reason == "" {
			reason = "unknown mail transport error"
		}
	}
	return dsn.Status{Code: dsnCode, Text: reason}
}
