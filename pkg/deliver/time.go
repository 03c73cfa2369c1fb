package deliver

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FormatTime writes t as "seconds.microseconds", the form of arrival_time and active_time.
func FormatTime(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// ParseTime reads "seconds[.fraction]"; anything else, or a time before 1970, is the zero
// time.
func ParseTime(v string) time.Time {
	if v == "" || len(v) > 32 {
		return time.Time{}
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return time.Time{}
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		ns = n
	}
	return time.Unix(s, ns)
}
