package resolve

import (
	"strings"

	"postern/pkg/config"
)

// Canon is trivial-rewrite's canonical form in the "local" context (rewrite.c), applied
// to the internal (unquoted) form of an address.
type Canon struct {
	MyOrigin     string // appended to a bare "user" (AppendAt)
	MyDomain     string // appended to "user@host" without a dot (AppendDot)
	AppendAt     bool   // append_at_myorigin
	AppendDot    bool   // append_dot_mydomain
	SwapBangpath bool   // swap_bangpath: "dom!user" -> "user@dom"
	PercentHack  bool   // allow_percent_hack: "user%dom" -> "user@dom"
}

// NewCanon reads the rewriting parameters of cfg.
func NewCanon(cfg *config.Config) *Canon {
	return &Canon{
		MyOrigin:     cfg.MyOrigin(),
		MyDomain:     cfg.Get("mydomain"),
		AppendAt:     cfg.Bool("append_at_myorigin"),
		AppendDot:    cfg.Bool("append_dot_mydomain"),
		SwapBangpath: cfg.Bool("swap_bangpath"),
		PercentHack:  cfg.Bool("allow_percent_hack"),
	}
}

// Address returns the canonical form of a, in this order, as Postfix's rewrite_tree: a
// source route "@a,@b:user@dom" loses its route; an address without "@" becomes
// "user@dom" from "dom!user" (the first "!") or else from "user%dom" (the last "%"), or else
// gets "@$myorigin"; "user@host" without a dot in host gets ".$mydomain" (never an address
// literal); one trailing dot of the domain is removed (not "..", not "@."). The null
// address stays empty and a lone "@" becomes it.
func (c *Canon) Address(a string) string {
	if a == "" || a == "@" {
		return ""
	}
	if a[0] == '@' {
		if i := strings.IndexByte(a, ':'); i > 0 && i < len(a)-1 {
			a = a[i+1:]
		}
	}
	if !strings.Contains(a, "@") {
		if i := strings.IndexByte(a, '!'); c.SwapBangpath && i >= 0 {
			a = a[i+1:] + "@" + a[:i]
		} else if i := strings.LastIndexByte(a, '%'); c.PercentHack && i >= 0 {
			a = a[:i] + "@" + a[i+1:]
		} else if c.AppendAt && c.MyOrigin != "" {
			a += "@" + c.MyOrigin
		}
	}
	if i := strings.LastIndexByte(a, '@'); c.AppendDot && c.MyDomain != "" && i >= 0 && i < len(a)-1 {
		if d := a[i+1:]; !strings.Contains(d, ".") && !strings.HasPrefix(d, "[") {
			a += "." + c.MyDomain
		}
	}
	if n := len(a); n > 1 && a[n-1] == '.' && a[n-2] != '.' && a[n-2] != '@' {
		a = a[:n-1]
	}
	return a
}
