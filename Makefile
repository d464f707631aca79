# ganeti-py: build, test, demo and install.
#   make demo    - set everything up and run a one-node virtual cluster in ./demo
#   make check   - set everything up and run lint + the whole test suite
#   make bench   - run the benchmarks in bench/
#   make install - install under the ./configure paths

-include config.mk
prefix ?= /usr/local
sbindir ?= $(prefix)/sbin
libdir ?= $(prefix)/lib
mandir ?= $(prefix)/share/man
PYTHON_FOR_VENV ?= /usr/bin/python3

VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
SHELL := /bin/bash

# Debian packages the project needs at run and test time (one list, one place)
DEB_PACKAGES := python3 python3-venv python3-dev openssl openssh-client openssh-server \
	procps iproute2 man-db groff-base curl

.PHONY: all deps venv demo check lint test bench install clean

all: venv

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "Missing Debian packages (run as root to install):$$missing" >&2; \
	  fi; \
	fi

$(VPY):
	$(PYTHON_FOR_VENV) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: deps $(STAMP)

demo: venv
	@if [ -d "$(DEMO_DIR)/node1" ]; then tools/vcluster down $(DEMO_DIR); fi
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH tools/vcluster up $(DEMO_DIR) --nodes 1
	@set -e; . $(DEMO_DIR)/env; \
	  echo; echo '$$ gnt-cluster version'; gnt-cluster version; \
	  echo; echo '$$ gnt-debug delay 0.1'; gnt-debug delay 0.1; \
	  echo; echo '$$ gnt-debug delay --submit 1'; gnt-debug delay --submit 1; \
	  echo; echo '$$ gnt-cluster verify'; gnt-cluster verify || true; \
	  echo; echo '$$ gnt-job list'; gnt-job list; \
	  echo; echo '$$ gnt-cluster info | head -8'; gnt-cluster info | head -8
	@echo
	@echo "The demo cluster is running. Try:"
	@echo "  . $(DEMO_DIR)/env"
	@echo "  gnt-cluster info; gnt-job list; gnt-job info 1; gnt-debug locks"
	@echo "  gnt-debug delay --submit 30; gnt-job watch <id>; gnt-job cancel <id>"
	@echo "  gnt-cluster queue drain; gnt-cluster queue info; gnt-cluster queue undrain"
	@echo "Stop it with: tools/vcluster down $(DEMO_DIR)"

lint: venv
	$(VENV)/bin/ruff check .

test: venv
	$(VENV)/bin/pytest -ra test/

check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -ra test/

bench: venv
	bench/run

install: venv
	$(VPY) -m pip install -q --prefix=$(DESTDIR)$(prefix) --no-deps .
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(libdir)/ganeti $(DESTDIR)$(mandir)/man8
	for f in scripts/*; do install -m 0755 $$f $(DESTDIR)$(sbindir)/; done
	install -m 0755 daemons/daemon-util $(DESTDIR)$(libdir)/ganeti/daemon-util
	install -m 0644 man/*.8 $(DESTDIR)$(mandir)/man8/

clean:
	rm -rf build *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
