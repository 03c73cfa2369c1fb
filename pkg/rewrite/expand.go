package rewrite

import (
	"fmt"
	"strings"
)

// Limits bound a virtual alias expansion (virtual_alias_recursion_limit,
// virtual_alias_expansion_limit, virtual_alias_address_length_limit); 0 = Postfix's 1000.
type Limits struct {
	Recursion, Expansion, AddressLength int
}

func orDefault(n int) int {
	if n <= 0 {
		return 1000
	}
	return n
}

// LimitError is an expansion that went past a limit: the whole message must be deferred
// ("4.6.0 Alias expansion error"). Its text is Postfix's warning without the queue ID and
// the "-- message not accepted, try again later" tail.
type LimitError struct {
	Title string // the parameter name, e.g. virtual_alias_maps
	What  string // "expansion size", "nesting" or "result"
	Addr  string // the address being expanded (for "result": the result, cut to 300 bytes)
}

func (e *LimitError) Error() string {
	if e.What == "result" {
		return fmt.Sprintf("unreasonable %s result %s...", e.Title, e.Addr)
	}
	return fmt.Sprintf("unreasonable %s map %s for %s", e.Title, e.What, e.Addr)
}

// LookupError is a table that failed during an expansion: the message must be deferred
// ("queue file write error", as Postfix). Err holds the table's own complaint.
type LookupError struct {
	Title, Addr string
	Err         error
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("%s map lookup problem for %s", e.Title, e.Addr)
}
func (e *LookupError) Unwrap() error { return e.Err }

// Expand is Postfix's cleanup_map1n: address is replaced by what the tables say, each
// result is looked up again, and so on. An address that expands into a list holding itself
// is kept as it is and not looked up again (a@x -> a@x, b@y delivers to both); an address
// without a match is final. On error the result is the address alone and err is a
// *LimitError or a *LookupError.
func (f *Finder) Expand(address, title string, propagate bool, lim Limits) ([]string, error) {
	recursion, expansion, length := orDefault(lim.Recursion), orDefault(lim.Expansion), orDefault(lim.AddressLength)
	list := []string{address}
	kept := map[string]bool{} // lower-cased addresses that expanded into themselves
	fail := func(err error) ([]string, error) { return []string{address}, err }
	for i := 0; i < len(list); i++ {
		if len(list) > expansion {
			return fail(&LimitError{Title: title, What: "expansion size", Addr: address})
		}
		for count := 0; ; count++ {
			lhs := list[i]
			if kept[strings.ToLower(lhs)] {
				break
			}
			if count >= recursion {
				return fail(&LimitError{Title: title, What: "nesting", Addr: address})
			}
			res, found, err := f.Map(lhs, propagate)
			if err != nil {
				return fail(&LookupError{Title: title, Addr: lhs, Err: err})
			}
			if !found || len(res) == 0 {
				break
			}
			for j, r := range res {
				if len(r) > length {
					return fail(&LimitError{Title: title, What: "result", Addr: r[:min(len(r), 300)]})
				}
				if j == 0 {
					list[i] = r
				} else {
					list = append(list, r)
				}
				if strings.EqualFold(lhs, r) {
					kept[strings.ToLower(lhs)] = true
				}
			}
		}
	}
	return list, nil
}

// Map11 is Postfix's cleanup_map11 for canonical tables: one address in, one out, the result
// looked up again until it maps to itself or has no match (at most 10 rounds, then the last
// result stands and nested is true). A table with several addresses in one entry gives the
// first (multi is true: Postfix warns "multi-valued TITLE entry for ADDR").
func (f *Finder) Map11(address string, propagate bool) (result string, multi, nested bool, err error) {
	cur := address
	for range 10 {
		res, found, err := f.Map(cur, propagate)
		if err != nil {
			return cur, multi, false, err
		}
		if !found || len(res) == 0 {
			return cur, multi, false, nil
		}
		if len(res) > 1 {
			multi = true
		}
		prev := cur
		cur = res[0]
		if strings.EqualFold(prev, cur) {
			return cur, multi, false, nil
		}
	}
	return cur, multi, true, nil
}
