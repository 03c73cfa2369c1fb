package main

import (
	"fmt"

	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/resolve"
	"postern/pkg/rewrite"
	"postern/pkg/table"
)

// openTables opens the lookup tables of the recipient checks once, at start; pkg/table
// picks up a table rebuilt with postmap by itself. A table type Postern lacks is skipped
// with a warning; a hash: table without its .db fails its lookups (451, never 550).
// The domain lists (mydestination, relay_domains, virtual_*_domains), the canonical form
// and mynetworks are pkg/resolve's.
func (p *policy) openTables(cfg *config.Config, log *maillog.Logger) error {
	opts := &table.Options{Warnf: func(f string, a ...any) { log.Warn(f, a...) }}
	var err error
	if p.res, err = resolve.New(cfg, opts); err != nil {
		return err
	}
	p.canon = p.res.Canon()
	if p.mynetworks, err = resolve.OpenList(cfg, "mynetworks", opts); err != nil {
		return err
	}
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
			IsLocal: p.res.IsLocal, DoubleBounce: p.doubleBounce, Canon: p.canon}, nil
	}
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
	return nil
}
