package service

import (
	"fmt"
	"strconv"
	"strings"

	"postern/pkg/config"
	"postern/pkg/getopt"
)

// Args is a daemon's command line as master builds it.
type Args struct {
	ConfigDir   string      // -c: configuration directory ("" = default)
	ServiceName string      // -n: master.cf service name
	Type        string      // -t: master.cf service type (inet, unix, ...)
	Unpriv      bool        // -u: master.cf says unpriv = y
	Overrides   [][2]string // -o name=value, in order
	Rest        []string    // arguments after the options
	Verbose     bool        // -v
	Listeners   int         // -s N (informational; POSTERN_LISTEN_FDS rules)
}

// ParseArgs parses argv (without the program name) getopt-style: flags may
// be combined (-lu), option values may be attached (-cdir) or separate, and
// "--" or the first non-option ends the options. The flags -l, -z, -d, -D and
// -S are accepted and ignored, as Postfix's master may pass some of them.
func ParseArgs(prog string, argv []string) (*Args, error) {
	a := &Args{}
	rest, err := getopt.Parse(argv, "uvlzdDSc:n:t:o:s:", func(c byte, val string) error {
		switch c {
		case 'u':
			a.Unpriv = true
		case 'v':
			a.Verbose = true
		case 'c', 'n', 't', 'o', 's':
			return a.set(c, val)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", prog, err)
	}
	a.Rest = append([]string(nil), rest...)
	return a, nil
}

func (a *Args) set(c byte, val string) error {
	switch c {
	case 'c':
		a.ConfigDir = val
	case 'n':
		a.ServiceName = val
	case 't':
		a.Type = val
	case 's':
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return fmt.Errorf("bad -s value: %q", val)
		}
		a.Listeners = n
	case 'o':
		name, value, ok := strings.Cut(val, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return fmt.Errorf("bad -o parameter: %q (need name=value)", val)
		}
		a.Overrides = append(a.Overrides, [2]string{name, strings.TrimSpace(value)})
	}
	return nil
}

// LoadConfig reads main.cf from the -c directory (or MAIL_CONFIG, or the
// default) and applies service_name and the -o overrides over it.
func LoadConfig(a *Args) (*config.Config, error) {
	c, err := config.Load(config.Dir(a.ConfigDir))
	if err != nil {
		return nil, err
	}
	if a.ServiceName != "" {
		c.Override("service_name", a.ServiceName)
	}
	for _, o := range a.Overrides {
		c.Override(o[0], o[1])
	}
	return c, nil
}
