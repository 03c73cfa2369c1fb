package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"postern/pkg/printable"
	"postern/pkg/table"
)

// PerTransportSuffixes are the parameter name suffixes that Postfix accepts after a transport
// name (transport_destination_concurrency_limit and friends).
var PerTransportSuffixes = []string{
	"_destination_concurrency_failed_cohort_limit",
	"_destination_concurrency_positive_feedback",
	"_destination_concurrency_negative_feedback",
	"_initial_destination_concurrency",
	"_destination_concurrency_limit",
	"_destination_recipient_limit",
	"_destination_rate_delay",
	"_transport_rate_delay",
	"_time_limit",
	"_delivery_slot_cost",
	"_delivery_slot_loan",
	"_delivery_slot_discount",
	"_minimum_delivery_slots",
	"_recipient_limit",
	"_extra_recipient_limit",
	"_recipient_refill_limit",
	"_recipient_refill_delay",
}

// perTransportImplemented are the suffixes qmgr reads for every transport.
var perTransportImplemented = setOf("_destination_concurrency_limit", "_destination_recipient_limit",
	"_destination_rate_delay", "_time_limit")

// Unimplemented returns the warnings about what c and the master.cf services svcs ask for and
// Postern does not do, one line each, each naming its file (and for master.cf the service):
// parameters (UnimplementedParams), smtpd restrictions, table types and master.cf programs.
// postfix check, start and reload print them, master logs them at start and reload.
func Unimplemented(c *Config, svcs []Service) []string {
	return append(UnimplementedSettings(c, svcs), unavailablePrograms(c, svcs)...)
}

// UnimplementedSettings is Unimplemented without the master.cf programs, which master
// reports as it plans its services.
func UnimplementedSettings(c *Config, svcs []Service) []string {
	out := UnimplementedParams(c, svcs)
	out = append(out, unimplementedValues(c, svcs)...)
	out = append(out, unimplementedRestrictions(c, svcs)...)
	return append(out, unsupportedTables(c, svcs)...)
}

// partial are implemented parameters with values Postern does not implement: for such a
// value, what it does instead.
var partial = map[string]func(v string) string{
	"smtp_tls_security_level": func(v string) string {
		switch strings.ToLower(v) {
		case "dane", "dane-only", "fingerprint", "verify", "secure":
			return "it is treated as encrypt, without verifying the server's certificate"
		}
		return ""
	},
}

// unimplementedValues warns about the values of partial parameters set explicitly in
// main.cf or with -o that Postern does not implement.
func unimplementedValues(c *Config, svcs []Service) []string {
	var out []string
	for _, ctx := range contexts(c, svcs) {
		for _, n := range ctx.names {
			check := partial[n]
			if check == nil {
				continue
			}
			v := strings.TrimSpace(ctx.cfg.Get(n))
			if instead := check(v); instead != "" {
				out = append(out, fmt.Sprintf("%s: %s = %s is not implemented by Postern: %s", ctx.where, n, printable.String(printable.Trunc(v, 100), '?'), instead))
			}
		}
	}
	return out
}

// context is main.cf, or main.cf with one master.cf service's -o settings over it, as that
// service's programs see it.
type context struct {
	where string   // "/etc/postfix/main.cf" or "/etc/postfix/master.cf: service NAME"
	cfg   *Config  // the parameters as the programs of that place see them
	names []string // the parameters set explicitly there
}

// contexts returns main.cf's context and one for each service with -o settings.
func contexts(c *Config, svcs []Service) []context {
	var main []string
	for _, n := range c.SetNames() {
		if c.InFile(n) {
			main = append(main, n)
		}
	}
	out := []context{{where: filepath.Join(c.Dir(), "main.cf"), cfg: c, names: main}}
	for _, s := range svcs {
		if len(s.Overrides) == 0 {
			continue
		}
		sc := c.Clone()
		sc.Override("service_name", s.Name)
		var names []string
		seen := map[string]bool{}
		for _, o := range s.Overrides {
			sc.Override(o[0], o[1])
			if !seen[o[0]] {
				seen[o[0]] = true
				names = append(names, o[0])
			}
		}
		out = append(out, context{where: filepath.Join(c.Dir(), "master.cf") + ": service " + s.Name, cfg: sc, names: names})
	}
	return out
}

// UnimplementedParams returns one warning per parameter set in main.cf or with -o in
// master.cf that Postern does not implement, except where the value gives Postfix's result
// anyway: empty (the feature off: Postern does not have it), the default, behavesAs' value,
// or any value of an inert parameter. Values are expanded as the programs expand them.
// Names that are no Postfix parameter are postconf's business ("unused parameter"), except
// the per-transport ones (relay_destination_concurrency_limit) of a master.cf service.
func UnimplementedParams(c *Config, svcs []Service) []string {
	services := map[string]bool{}
	for _, s := range svcs {
		services[s.Name] = true
	}
	var out []string
	for _, ctx := range contexts(c, svcs) {
		for _, n := range ctx.names {
			if implemented[n] || inert[n] {
				continue
			}
			if !Known(n) {
				suffix := transportSuffix(n, services)
				if suffix == "" || perTransportImplemented[suffix] {
					continue
				}
			}
			v := ctx.cfg.Get(n)
			if normalValue(v) == "" {
				continue
			}
			if want, ok := behavesAs[n]; ok {
				if sameValue(n, v, want) {
					continue
				}
			} else if d, ok := ctx.cfg.Default(n); ok && sameValue(n, v, ctx.cfg.Expand(d)) {
				continue
			}
			out = append(out, ctx.where+": parameter "+n+" is not implemented by Postern and is ignored")
		}
	}
	return out
}

// transportSuffix returns the per-transport suffix of n when n is SERVICE+suffix for a
// master.cf service, else "".
func transportSuffix(n string, services map[string]bool) string {
	for _, s := range PerTransportSuffixes {
		if strings.HasSuffix(n, s) && services[strings.TrimSuffix(n, s)] {
			return s
		}
	}
	return ""
}

// sameValue tells whether a and b are the same value of parameter n: equal lists, yes/no
// spellings, or times (3600 and 3600s, 1h).
func sameValue(n, a, b string) bool {
	if normalValue(a) == normalValue(b) {
		return true
	}
	u := defaultTimeUnit(n)
	da, errA := ParseDuration(a, u)
	db, errB := ParseDuration(b, u)
	return errA == nil && errB == nil && da == db
}

// normalValue makes values that mean the same compare equal: list separators and yes/no
// spellings.
func normalValue(v string) string {
	if b, ok := parseBool(v); ok {
		if b {
			return "yes"
		}
		return "no"
	}
	return strings.Join(SplitList(v), " ")
}

// unsupportedTables warns once per table (type:name) of a table type Postern does not have,
// in the parameters set explicitly in main.cf or with -o that Postern implements (the others
// have their own warning): their programs skip such a table.
func unsupportedTables(c *Config, svcs []Service) []string {
	var out []string
	seen := map[string]bool{}
	for _, ctx := range contexts(c, svcs) {
		for _, n := range ctx.names {
			if !implemented[n] {
				continue
			}
			for _, item := range ctx.cfg.List(n) {
				spec := item
				for strings.HasPrefix(spec, "proxy:") {
					spec = spec[len("proxy:"):]
				}
				typ, _, ok := strings.Cut(spec, ":")
				if !ok || !table.PostfixType(typ) || table.Supported(typ) || seen[item] {
					continue
				}
				seen[item] = true
				out = append(out, fmt.Sprintf("%s: %s: table type %s is not supported by Postern: %s is skipped", ctx.where, n, typ, printable.String(printable.Trunc(item, 100), '?')))
			}
		}
	}
	return out
}
