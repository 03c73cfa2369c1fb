package config

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// computedDefault returns the defaults Postfix computes at run time:
//
//   - myhostname: os.Hostname(); when it has no dot, ".$mydomain" is appended if mydomain is set
//     in main.cf, else ".localdomain" (as Postfix's check_myhostname does).
//   - mydomain: the effective myhostname minus its first label when that leaves a name with a
//     dot, else "localdomain".
//   - mynetworks: from mynetworks_style and this host's interface addresses: "host" lists each
//     address as addr/32 or [addr]/128, "subnet" the networks of the interfaces, "class" the
//     class A/B/C network for IPv4 (subnet for IPv6). IPv6 is left out when inet_protocols
//     does not allow it; zone-scoped (link-local) IPv6 addresses are left out. If no address
//     is found the loopback networks 127.0.0.0/8 [::1]/128 are used.
//   - process_id and process_name: this process.
func (c *Config) computedDefault(name string, e *expander) (string, bool) {
	get := func(n string) string { return strings.TrimSpace(e.expand("${"+n+"}", e.nest)) }
	switch name {
	case "myhostname":
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		if !strings.Contains(h, ".") {
			dom := "localdomain"
			if v, ok := c.Raw("mydomain"); ok {
				if d := strings.TrimSpace(e.expand(v, e.nest)); d != "" && !e.failed {
					dom = d
				}
			}
			h += "." + dom
		}
		return h, true
	case "mydomain":
		h := get("myhostname")
		if i := strings.IndexByte(h, '.'); i >= 0 && strings.Contains(h[i+1:], ".") {
			return h[i+1:], true
		}
		return "localdomain", true
	case "mynetworks":
		return c.computeMynetworks(get), true
	case "process_id":
		return strconv.Itoa(os.Getpid()), true
	case "process_name":
		if len(os.Args) > 0 {
			return filepath.Base(os.Args[0]), true
		}
		return "", true
	}
	return "", false
}

// interfaceAddrs is replaceable in tests.
var interfaceAddrs = net.InterfaceAddrs

func (c *Config) computeMynetworks(get func(string) string) string {
	style := strings.ToLower(get("mynetworks_style"))
	protos := strings.ToLower(get("inet_protocols"))
	want4 := protos == "" || strings.Contains(protos, "all") || strings.Contains(protos, "ipv4")
	want6 := protos == "" || strings.Contains(protos, "all") || strings.Contains(protos, "ipv6")
	addrs, _ := interfaceAddrs()
	var v4, v6 []string
	seen := map[string]bool{}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP
		if ip4 := ip.To4(); ip4 != nil {
			if !want4 {
				continue
			}
			var s string
			switch style {
			case "host":
				s = ip4.String() + "/32"
			case "class":
				var bits int
				switch {
				case ip4[0] < 128:
					bits = 8
				case ip4[0] < 192:
					bits = 16
				case ip4[0] < 224:
					bits = 24
				default:
					bits = 32
				}
				m := net.CIDRMask(bits, 32)
				s = ip4.Mask(m).String() + "/" + strconv.Itoa(bits)
			default: // subnet
				ones, _ := ipn.Mask.Size()
				if len(ipn.Mask) == 16 {
					ones -= 96
				}
				if ones < 0 {
					ones = 32
				}
				s = ip4.Mask(net.CIDRMask(ones, 32)).String() + "/" + strconv.Itoa(ones)
			}
			if !seen[s] {
				seen[s] = true
				v4 = append(v4, s)
			}
			continue
		}
		if !want6 || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
			continue
		}
		var s string
		if style == "host" {
			s = "[" + ip.String() + "]/128"
		} else {
			ones, _ := ipn.Mask.Size()
			s = "[" + ip.Mask(ipn.Mask).String() + "]/" + strconv.Itoa(ones)
		}
		if !seen[s] {
			seen[s] = true
			v6 = append(v6, s)
		}
	}
	out := append(v4, v6...)
	if len(out) == 0 {
		if want4 {
			out = append(out, "127.0.0.0/8")
		}
		if want6 {
			out = append(out, "[::1]/128")
		}
	}
	return strings.Join(out, " ")
}
