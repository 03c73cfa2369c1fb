package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"testing"

	"postern/pkg/config"
)

// TestRestrictionRegistry: the restrictions eval and evalMore handle are exactly
// config.SMTPDRestrictions, the list postfix check warns against; so a restriction added
// here must be added there, and the other way round.
func TestRestrictionRegistry(t *testing.T) {
	handled := map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range []string{"access.go", "restrictions.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || (fd.Name.Name != "eval" && fd.Name.Name != "evalMore") {
				continue
			}
			for _, st := range fd.Body.List {
				sw, ok := st.(*ast.SwitchStmt)
				if !ok {
					continue
				}
				for _, cc := range sw.Body.List {
					for _, e := range cc.(*ast.CaseClause).List {
						if bl, ok := e.(*ast.BasicLit); ok {
							s, _ := strconv.Unquote(bl.Value)
							handled[s] = true
						}
					}
				}
			}
		}
	}
	var extra, missing []string
	for r := range handled {
		if !config.SMTPDRestrictions[r] {
			extra = append(extra, r)
		}
	}
	for r := range config.SMTPDRestrictions {
		if !handled[r] {
			missing = append(missing, r)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	if len(handled) < 10 || len(extra) > 0 || len(missing) > 0 {
		t.Errorf("eval handles %d restrictions; not in config.SMTPDRestrictions: %v; listed there but not handled: %v", len(handled), extra, missing)
	}
}
