# Postern: a Postfix-compatible mail system in Go.
#
#   make build    compile every program into bin/
#   make test     go vet and every test, the end-to-end ones included
#   make run      run the whole suite unprivileged in the foreground (./run)
#   make bench    the load generator against its own instance
#   make install  (root) install as Postfix would be installed
#   make clean

GO      ?= go
DESTDIR ?=
TIMEOUT ?= 20m

# Every program folder that has been written (one with a main.go).
ALL_PROGRAMS := master smtpd pickup cleanup qmgr local bounce postdrop sendmail \
	postmap newaliases pop3d imapd authd postfix postconf postqueue postsuper smtp
PROGRAMS := $(foreach p,$(ALL_PROGRAMS),$(if $(wildcard $(p)/main.go),$(p)))

# Where Postfix puts them (Debian layout).
COMMAND_DIR := /usr/sbin
DAEMON_DIR  := /usr/lib/postfix/sbin
CONFIG_DIR  := /etc/postfix
SAMPLE_DIR  := /usr/share/postern
UNIT_DIR    := /etc/systemd/system
COMMANDS    := $(filter sendmail postfix postmap postconf postqueue postsuper postdrop,$(PROGRAMS))
DAEMONS     := $(filter-out $(COMMANDS) newaliases,$(PROGRAMS))

.PHONY: all build test vet run bench install clean

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

install: build
	@test "$$(id -u)" = 0 || { echo "make install: run as root"; exit 1; }
	getent group postdrop >/dev/null || groupadd -r postdrop
	getent passwd postfix >/dev/null || useradd -r -U -M -d /var/spool/postfix -s /usr/sbin/nologin -c "Postfix MTA" postfix
	install -d -m 0755 $(DESTDIR)$(COMMAND_DIR) $(DESTDIR)$(DAEMON_DIR) $(DESTDIR)$(CONFIG_DIR) \
		$(DESTDIR)$(SAMPLE_DIR) $(DESTDIR)/usr/bin $(DESTDIR)$(UNIT_DIR)
	for p in $(COMMANDS); do install -m 0755 bin/$$p $(DESTDIR)$(COMMAND_DIR)/$$p; done
	for p in $(DAEMONS); do install -m 0755 bin/$$p $(DESTDIR)$(DAEMON_DIR)/$$p; done
	# postdrop and postqueue are set-gid postdrop, as Postfix's.
	for p in postdrop postqueue; do \
		if [ -f $(DESTDIR)$(COMMAND_DIR)/$$p ]; then \
			chgrp postdrop $(DESTDIR)$(COMMAND_DIR)/$$p && chmod 2755 $(DESTDIR)$(COMMAND_DIR)/$$p; fi; done
	if [ -f bin/sendmail ]; then \
		ln -sf $(COMMAND_DIR)/sendmail $(DESTDIR)/usr/bin/newaliases; \
		ln -sf $(COMMAND_DIR)/sendmail $(DESTDIR)/usr/bin/mailq; fi
	install -m 0644 conf/main.cf $(DESTDIR)$(SAMPLE_DIR)/main.cf.dist
	install -m 0644 conf/master.cf $(DESTDIR)$(SAMPLE_DIR)/master.cf.dist
	# Never overwrite the administrator's configuration.
	[ -e $(DESTDIR)$(CONFIG_DIR)/main.cf ] || install -m 0644 conf/main.cf $(DESTDIR)$(CONFIG_DIR)/main.cf
	[ -e $(DESTDIR)$(CONFIG_DIR)/master.cf ] || install -m 0644 conf/master.cf $(DESTDIR)$(CONFIG_DIR)/master.cf
	install -m 0644 init/postern.service $(DESTDIR)$(UNIT_DIR)/postern.service
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "installed; start with: systemctl enable --now postern   (or: postfix start)"

clean:
	rm -rf bin run
