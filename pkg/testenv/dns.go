package testenv

import (
	"encoding/binary"
	"net"
	"strings"
	"sync"
	"testing"
)

// DNS is a tiny authoritative DNS server on loopback UDP for MX and A records, enough for
// Go's resolver: point smtp_dns_resolver_address at Addr() and the smtp client's lookups
// never leave loopback. Names it does not know are NXDOMAIN.
type DNS struct {
	pc   net.PacketConn
	mu   sync.Mutex
	mx   map[string][]dnsMX  // name -> MX records
	a    map[string][]net.IP // name -> A records
	fail map[string]bool     // names answered SERVFAIL
}

type dnsMX struct {
	pref uint16
	host string
}

// NewDNS starts a server; it stops when the test ends.
func NewDNS(t testing.TB) *DNS {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &DNS{pc: pc, mx: map[string][]dnsMX{}, a: map[string][]net.IP{}, fail: map[string]bool{}}
	t.Cleanup(func() { pc.Close() })
	go d.run()
	return d
}

// Addr is ip:port for smtp_dns_resolver_address.
func (d *DNS) Addr() string { return d.pc.LocalAddr().String() }

// AddMX adds an MX record; host "." makes a null MX.
func (d *DNS) AddMX(name string, pref uint16, host string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mx[fqdn(name)] = append(d.mx[fqdn(name)], dnsMX{pref, host})
}

// AddA adds an A record.
func (d *DNS) AddA(name, ip string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.a[fqdn(name)] = append(d.a[fqdn(name)], net.ParseIP(ip).To4())
}

// Fail makes lookups of name answer SERVFAIL.
func (d *DNS) Fail(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[fqdn(name)] = true
}

func fqdn(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) + "." }

func (d *DNS) run() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := d.answer(buf[:n]); resp != nil {
			d.pc.WriteTo(resp, from)
		}
	}
}

// answer parses the single question and builds the reply (no compression but the
// pointer to the question name in answers).
func (d *DNS) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	i := 12
	var labels []string
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, ".")) + "."

	d.mu.Lock()
	mxs, as, fail := d.mx[name], d.a[name], d.fail[name]
	d.mu.Unlock()
	var answers [][]byte
	rr := func(typ uint16, rdata []byte) {
		b := []byte{0xc0, 12}
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, 60)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
		answers = append(answers, append(b, rdata...))
	}
	switch qtype {
	case 15:
		for _, m := range mxs {
			rd := binary.BigEndian.AppendUint16(nil, m.pref)
			rr(15, append(rd, encodeName(m.host)...))
		}
	case 1:
		for _, ip := range as {
			rr(1, ip)
		}
	}
	rcode := uint16(0)
	switch {
	case fail:
		rcode, answers = 2, nil
	case mxs == nil && as == nil:
		rcode = 3 // NXDOMAIN
	}
	h := make([]byte, 12)
	copy(h, q[:2])
	flags := uint16(0x8000|0x0400|0x0080) | binary.BigEndian.Uint16(q[2:])&0x0100 | rcode
	binary.BigEndian.PutUint16(h[2:], flags)
	binary.BigEndian.PutUint16(h[4:], 1)
	binary.BigEndian.PutUint16(h[6:], uint16(len(answers)))
	out := append(h, question...)
	for _, a := range answers {
		out = append(out, a...)
	}
	return out
}

func encodeName(s string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}
