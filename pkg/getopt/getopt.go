// Package getopt reads a command line as POSIX getopt(3) does, as Postfix's commands read
// theirs: letters may be grouped (-bh), an option's argument may follow it directly (-cDIR)
// or be the next word (-c DIR), and options end at "--", at "-" or at the first operand.
package getopt

import "fmt"

// Error is a command line getopt refuses: an unknown option letter or a missing argument.
type Error struct {
	Opt     byte
	Missing bool // the option takes an argument and none was given
}

func (e *Error) Error() string {
	if e.Missing {
		return fmt.Sprintf("option requires an argument -- '%c'", e.Opt)
	}
	return fmt.Sprintf("invalid option -- '%c'", e.Opt)
}

// Parse calls fn for each option of args in order, with its argument for the letters that
// optstring follows with ':', and returns the operands. A letter followed by "::" takes an
// optional argument, only when it is glued to the letter (-q30m; a bare -q gets ""), as
// GNU getopt reads "::" and as sendmail's -q needs. It stops at the first error, fn's or
// its own (*Error).
func Parse(args []string, optstring string, fn func(opt byte, arg string) error) ([]string, error) {
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			takes, optional, known := spec(optstring, c)
			if !known {
				return nil, &Error{Opt: c}
			}
			arg := ""
			if takes {
				if arg = a[j+1:]; arg == "" && !optional {
					if i+1 >= len(args) {
						return nil, &Error{Opt: c, Missing: true}
					}
					i++
					arg = args[i]
				}
				j = len(a)
			}
			if err := fn(c, arg); err != nil {
				return nil, err
			}
		}
	}
	return args[i:], nil
}

// spec reports whether c is in optstring, whether it takes an argument (':') and whether
// that argument is optional ("::").
func spec(optstring string, c byte) (takes, optional, known bool) {
	if c == ':' {
		return false, false, false
	}
	for k := 0; k < len(optstring); k++ {
		if optstring[k] == c {
			takes = k+1 < len(optstring) && optstring[k+1] == ':'
			optional = takes && k+2 < len(optstring) && optstring[k+2] == ':'
			return takes, optional, true
		}
	}
	return false, false, false
}
