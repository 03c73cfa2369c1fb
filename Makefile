# Postern: a Postfix-compatible mail system in Go.
#
#   make build    compile every program into bin/
#   make test     go vet and every test, the end-to-end ones included
#   make run      run the whole suite unprivileged in the foreground (./run)
#   make bench    the load generator against its own instance
#   make install  (root) install as Postfix would be installed
#   make uninstall  undo make install
#   make clean

GO      ?= go
DESTDIR ?=
TIMEOUT ?= 20m

# Every program folder that has been written (one with a main.go).
ALL_PROGRAMS := master smtpd pickup cleanup qmgr local bounce postdrop sendmail \
	postmap postalias newaliases pop3d imapd authd postfix postconf postqueue postsuper smtp \
	postmulti postcat showq postlogd
PROGRAMS := $(foreach p,$(ALL_PROGRAMS),$(if $(wildcard $(p)/main.go),$(p)))

# Where they go (Debian layout: scripts/install.sh).
COMMANDS    := $(filter sendmail postfix postmap postalias postconf postqueue postsuper postdrop postmulti postcat,$(PROGRAMS))
DAEMONS     := $(filter-out $(COMMANDS) newaliases,$(PROGRAMS))

.PHONY: all build test vet run bench install uninstall clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o bin/ $(addprefix ./,$(PROGRAMS)) $(if $(wildcard cmd/postern-bench/main.go),./cmd/postern-bench)

vet:
	$(GO) vet ./...

# The end-to-end tests build the programs themselves (pkg/testenv).
test: vet
	$(GO) test -timeout $(TIMEOUT) ./...

run: build
	./scripts/run.sh

# BENCH_FLAGS, e.g. BENCH_FLAGS='-m 500 -c 10' or '-addr 127.0.0.1:2525'.
bench: build
	./bin/postern-bench $(BENCH_FLAGS)
	@echo "== lookup tables: postmap build of 1,000,000 entries, lookups (ns/op)"
	TABLE_BENCH_N=1000000 $(GO) test -run '^$$' -bench 'BenchmarkBuild1M' -benchtime 1x ./pkg/table | grep -E '^Benchmark'
	$(GO) test -run '^$$' -bench 'BenchmarkLookup' ./pkg/table | grep -E '^Benchmark'

# make install (root) puts every program where Debian's postfix package puts
# Postfix's, creates the postfix user and postdrop group and the queue with
# Postfix's owners and modes, writes /etc/postfix/main.cf and master.cf only
# when absent (adding the auth, pop3 and imap services to an existing
# master.cf), installs postern.service and /etc/init.d/postfix, and rebuilds
# the hash:/btree: tables the configuration names from their sources (Postfix's
# Berkeley DB files are kept for uninstall to put back). What it
# did is recorded in /var/lib/postern/manifest; make uninstall undoes exactly
# that (see scripts/install.sh and scripts/uninstall.sh).
#
# DESTDIR=/scratch/root installs into a scratch root instead, as any user:
# no user or group is created, and ownership is set only by root and only
# to ids this machine has.
install: build
	DESTDIR="$(DESTDIR)" BIN=bin SRC=. COMMANDS="$(COMMANDS)" DAEMONS="$(DAEMONS)" ./scripts/install.sh

# PURGE=1 also removes configuration files install wrote that were changed.
uninstall:
	DESTDIR="$(DESTDIR)" PURGE="$(PURGE)" ./scripts/uninstall.sh

clean:
	rm -rf bin run
