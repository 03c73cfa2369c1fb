package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// notPrograms are the module's directories whose literals are no program's reading of its
// configuration: tests, tools, the test harness, postconf, which shows every parameter, and
// postcat, whose queue record names (content_filter) are not parameter reads.
var notPrograms = map[string]bool{"e2e": true, "cmd": true, "install": true, "pkg/testenv": true, "postconf": true,
	"postcat": true}

// registryFiles are pkg/config's files that name parameters to judge a configuration, not to
// apply it.
var registryFiles = map[string]bool{"pkg/config/implemented.go": true, "pkg/config/unimplemented.go": true,
	"pkg/config/restrictions.go": true, "pkg/config/programs.go": true, "pkg/config/cachemaps.go": true}

// readByComputedName are marked parameters that programs read through a name they build.
var readByComputedName = map[string]string{
	"default_destination_concurrency_limit": "qmgr: default_<suffix>",
	"default_destination_recipient_limit":   "qmgr: default_<suffix>",
	"default_destination_rate_delay":        "qmgr: default_<suffix>",
	"local_destination_concurrency_limit":   "qmgr: <transport>_<suffix>",
	"local_destination_recipient_limit":     "qmgr: <transport>_<suffix>",
	"smtp_destination_concurrency_limit":    "qmgr: <transport>_<suffix>",
	"smtp_destination_recipient_limit":      "qmgr: <transport>_<suffix>",
	"relay_destination_concurrency_limit":   "qmgr: <transport>_<suffix>",
	"relay_destination_recipient_limit":     "qmgr: <transport>_<suffix>",
	"pop3d_tls_cert_file":                   "pkg/service: <prog>_tls_cert_file",
	"pop3d_tls_key_file":                    "pkg/service: <prefix>_tls_key_file",
	"pop3d_tls_wrappermode":                 "pkg/service: <prog>_tls_wrappermode",
	"imapd_tls_cert_file":                   "pkg/service: <prog>_tls_cert_file",
	"imapd_timeout":                         "pkg/handoff: <prog>_timeout",
	"imapd_tls_auth_only":                   "pkg/handoff: <prog>_tls_auth_only",
	"pop3d_timeout":                         "pkg/handoff: <prog>_timeout",
	"pop3d_tls_auth_only":                   "pkg/handoff: <prog>_tls_auth_only",
	"imapd_tls_key_file":                    "pkg/service: <prefix>_tls_key_file",
	"imapd_tls_wrappermode":                 "pkg/service: <prog>_tls_wrappermode",
	"smtp_tls_cert_file":                    "pkg/service: <prefix>_tls_cert_file",
	"smtp_tls_key_file":                     "pkg/service: <prefix>_tls_key_file",
	"smtp_tls_chain_files":                  "pkg/service: <prefix>_tls_chain_files",
	"smtp_tls_dcert_file":                   "pkg/service: <prefix>_tls_dcert_file",
	"smtp_tls_dkey_file":                    "pkg/service: <prefix>_tls_dkey_file",
	"smtp_tls_eccert_file":                  "pkg/service: <prefix>_tls_eccert_file",
	"smtp_tls_eckey_file":                   "pkg/service: <prefix>_tls_eckey_file",
	"smtpd_tls_cert_file":                   "pkg/service: <prefix>_tls_cert_file",
	"smtpd_tls_key_file":                    "pkg/service: <prefix>_tls_key_file",
	"smtpd_tls_chain_files":                 "pkg/service: <prefix>_tls_chain_files",
	"smtpd_tls_dcert_file":                  "pkg/service: <prefix>_tls_dcert_file",
	"smtpd_tls_dkey_file":                   "pkg/service: <prefix>_tls_dkey_file",
	"smtpd_tls_eccert_file":                 "pkg/service: <prefix>_tls_eccert_file",
	"smtpd_tls_eckey_file":                  "pkg/service: <prefix>_tls_eckey_file",
}

// literalReads returns the known parameter names that appear as string literals in the
// module's non-test Go code, with where. In pkg/config the default tables ("name": "value"
// entries) and the registry itself do not count.
func literalReads(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if notPrograms[rel] || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") || registryFiles[rel] {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		tables := map[ast.Node]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok && strings.HasPrefix(rel, "pkg/config/") {
				k, kok := kv.Key.(*ast.BasicLit)
				_, vok := kv.Value.(*ast.BasicLit)
				if kok && vok {
					tables[k] = true
				}
			}
			bl, ok := n.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING || tables[bl] {
				return true
			}
			if s, err := strconv.Unquote(bl.Value); err == nil && Known(s) {
				out[s] = append(out[s], fset.Position(bl.Pos()).String()[len(root)+1:])
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// refs returns the parameter names a default text refers to, in either branch of its
// conditional forms.
func refs(text string) []string {
	m := map[string]bool{}
	for _, defined := range []bool{true, false} {
		Expand(text, func(n string) (string, bool) { m[n] = true; return "", defined })
	}
	return sortedKeys(m)
}

// TestImplementedRegistry keeps the registry honest: a parameter that a program reads by its
// literal name must be marked implemented, and a marked one must be read (literally, through
// a computed name listed above, or through the default of another marked one).
func TestImplementedRegistry(t *testing.T) {
	reads := literalReads(t)
	if len(reads) < 100 {
		t.Fatalf("found only %d parameter names in the code: the scan is broken", len(reads))
	}
	for _, n := range sortedKeys(toSet(reads)) {
		if !implemented[n] && !inert[n] {
			t.Errorf("%s is read (%s) but not marked implemented in implemented.go", n, strings.Join(reads[n], ", "))
		}
	}
	used := map[string]bool{}
	for n := range implemented {
		for _, r := range refs(builtinDefaults[n]) {
			used[r] = true
		}
	}
	var unread []string
	for n := range implemented {
		if !Known(n) {
			t.Errorf("implemented.go marks %s, which is no parameter", n)
		}
		if reads[n] == nil && readByComputedName[n] == "" && !used[n] {
			unread = append(unread, n)
		}
	}
	sort.Strings(unread)
	for _, n := range unread {
		t.Errorf("%s is marked implemented but no program reads it", n)
	}
	for n := range readByComputedName {
		if !implemented[n] {
			t.Errorf("%s is read by a computed name but not marked implemented", n)
		}
	}
	for n := range inert {
		if !Known(n) || implemented[n] {
			t.Errorf("inert %s: unknown or marked implemented", n)
		}
	}
	for n := range behavesAs {
		if !Known(n) || implemented[n] || inert[n] {
			t.Errorf("behavesAs %s: unknown, implemented or inert", n)
		}
	}
}

func toSet(m map[string][]string) map[string]bool {
	s := map[string]bool{}
	for k := range m {
		s[k] = true
	}
	return s
}
