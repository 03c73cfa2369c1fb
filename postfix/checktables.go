package main

import (
	"errors"
	"strings"

	"postern/pkg/config"
	"postern/pkg/table/bdb"
)

// tableRef is a hash: or btree: table the configuration names.
type tableRef struct {
	param string // the main.cf parameter, or service/type/parameter for a master.cf -o
	path  string // FILE; the built table is FILE.db
	cmd   string // what builds it: postalias for alias tables, else postmap
}

// tableRefs finds the hash:/btree: tables in the expanded values of the parameters main.cf
// sets, of alias_maps and alias_database (they have a table even when not set), and of the
// -o options of master.cf, as make install does with postconf -n -x and -P -x. Cache
// databases (config.IsCacheMap: smtp_tls_session_cache_database, ...) are not tables.
func (s *script) tableRefs() []tableRef {
	var refs []tableRef
	seen := map[string]bool{}
	add := func(param, value string) {
		short := param[strings.LastIndex(param, "/")+1:]
		if config.IsCacheMap(short) {
			return // written by the daemons, no source to rebuild from
		}
		cmd := "postmap"
		if short == "alias_maps" || short == "alias_database" {
			cmd = "postalias"
		}
		for _, w := range config.SplitList(value) {
			for strings.HasPrefix(w, "proxy:") {
				w = w[len("proxy:"):]
			}
			typ, name, ok := strings.Cut(w, ":")
			if !ok || (typ != "hash" && typ != "btree") || !strings.HasPrefix(name, "/") || seen[name] {
				continue
			}
			seen[name] = true
			refs = append(refs, tableRef{param: param, path: name, cmd: cmd})
		}
	}
	names := append([]string{"alias_maps", "alias_database"}, s.cfg.SetNames()...)
	for _, n := range names {
		add(n, s.cfg.Get(n))
	}
	services, _ := config.LoadMaster(s.dir, s.cfg) // checkFatal has reported a broken master.cf
	for _, svc := range services {
		for _, o := range svc.Overrides {
			add(svc.Name+"/"+svc.Type+"/"+o[0], s.cfg.Expand(o[1]))
		}
	}
	return refs
}

// checkTables reports every table whose FILE.db Postfix left in Berkeley DB format, which
// Postern cannot read (every lookup in it fails and the mail waits): a warning with the
// postmap or postalias command that rebuilds it when its source file is there, an error
// when the source is gone too. It returns the number of errors.
func (s *script) checkTables() int {
	errs := 0
	for _, r := range s.tableRefs() {
		db := r.path + ".db"
		if !bdb.File(db) {
			continue
		}
		err := bdb.Problem(db, r.cmd)
		if errors.Is(err, bdb.ErrNoSource) {
			s.log.Error("%s", s.show("error: ", "%s: %v", r.param, err))
			errs++
			continue
		}
		s.warn("%s: %v", r.param, err)
	}
	return errs
}

// checkCommand is "postfix check": check, then the tables; exit status 1 when a table can be
// neither read nor rebuilt.
func (s *script) checkCommand() int {
	if code := s.check(); code != 0 {
		return code
	}
	if s.checkTables() > 0 {
		return 1
	}
	return 0
}
