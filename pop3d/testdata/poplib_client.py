"""POP3 client check with Python's poplib, run by TestPoplib.

usage: poplib_client.py HOST PORT MAILDIR NAME1,NAME2
NAMEs are the delivered new/ file names, oldest first.
"""
import os
import poplib
import sys


def wire(data):
    """What RETR must give poplib: lines without CRLF (poplib strips it and
    undoes the dot-stuffing)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [l[:-1] if l.endswith(b"\r") else l for l in lines]


def main():
    host, port, maildir, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(",")
    contents = [open(os.path.join(maildir, "new", n), "rb").read() for n in names]
    sizes = [sum(len(l) + 2 for l in wire(c)) for c in contents]

    bad = poplib.POP3(host, port, timeout=20)
    assert bad.getwelcome() == b"+OK Hello there.", bad.getwelcome()
    bad.user("fmaster")
    try:
        bad.pass_("wrong")
        raise SystemExit("wrong password accepted")
    except poplib.error_proto as e:
        assert str(e) == "b'-ERR Login failed.'", e
    bad.quit()

    p = poplib.POP3(host, port, timeout=20)
    caps = p.capa()
    assert "UIDL" in caps and "TOP" in caps and "USER" in caps, caps
    p.user("fmaster")
    p.pass_("password")
    count, total = p.stat()
    assert (count, total) == (2, sum(sizes)), (count, total, sizes)
    _, listing, _ = p.list()
    assert listing == [b"1 %d" % sizes[0], b"2 %d" % sizes[1]], listing
    _, uidls, _ = p.uidl()
    for i, c in enumerate(contents):
        _, lines, octets = p.retr(i + 1)
        assert lines == wire(c), (lines, wire(c))
    _, top, _ = p.top(2, 0)
    assert top == wire(contents[1])[:2], top
    p.dele(1)
    p.quit()
    cur = os.listdir(os.path.join(maildir, "cur"))
    assert not any(n.startswith(names[0]) for n in cur), cur
    assert any(n.startswith(names[1] + ":2,S") for n in cur), cur

    p = poplib.POP3(host, port, timeout=20)
    p.user("fmaster")
    p.pass_("password")
    _, uidls2, _ = p.uidl()
    assert [u.split()[1] for u in uidls2] == [uidls[1].split()[1]], (uidls, uidls2)
    p.quit()
    print("poplib: ok", uidls, uidls2)


main()
