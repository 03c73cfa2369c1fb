package main

import (
	"fmt"

	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/rewrite"
	"postern/pkg/table"
)

// openTables opens the lookup tables of the recipient checks once, at start; pkg/table
// picks up a table rebuilt with postmap by itself. A table type Postern lacks is skipped
// with a warning; a hash: table without its .db fails its lookups (451, never 550).
func (p *policy) openTables(cfg *config.Config, log *maillog.Logger) error {
	opts := &table.Options{Warnf: func(f string, a ...any) { log.Warn(f, a...) }}
	finder := func(param string) (*rewrite.Finder, error) {
		specs := cfg.List(param)
		if len(specs) == 0 {
			return nil, nil
		}
		l, err := table.OpenList(specs, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", param, err)
		}
		if l.Len() == 0 {
			return nil, nil
		}
		return &rewrite.Finder{Maps: l, Delimiter: p.delimiter, MyOrigin: p.canon.MyOrigin,
			IsLocal: p.isLocalDomain, DoubleBounce: p.doubleBounce, Canon: &p.canon}, nil
	}
	var err error
	if p.localMaps, err = finder("local_recipient_maps"); err != nil {
		return err
	}
	for _, param := range []string{"recipient_canonical_maps", "canonical_maps", "virtual_alias_maps"} {
		f, err := finder(param)
		if err != nil {
			return err
		}
		if f != nil {
			p.knownMaps = append(p.knownMaps, f)
		}
	}
	p.virtualAliasDomains, err = rewrite.OpenDomainList(cfg.List("virtual_alias_domains"), opts)
	if err != nil {
		return fmt.Errorf("virtual_alias_domains: %v", err)
	}
	return nil
}
