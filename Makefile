# ganeti-py: set up, try out, test, benchmark and install.
#
#   make demo       install what is missing, start a one-node virtual cluster in ./demo
#   make check      install what is missing, then lint and the whole test suite
#                   (SKIP_SLOW=1 leaves out tests marked slow; PYTEST_ARGS=... adds options)
#   make lint       ruff only
#   make bench      run the benchmarks in bench/
#   make install    install under the ./configure paths (DESTDIR supported)
#   make uninstall  remove what make install put there
#   make clean      remove build products and caches (distclean: also .venv, ./demo, configure output)
#
# The development environment is a virtualenv in .venv made with Debian's
# /usr/bin/python3 (not whatever python3 comes first on PATH).

SHELL := /bin/bash

# ---------------------------------------------------------------------------
# Install paths: ./configure writes config.mk; without it these defaults apply,
# the same ones the Python side falls back to (lib/pathutils.py).
-include config.mk
prefix ?= /usr/local
exec_prefix ?= $(prefix)
sbindir ?= $(exec_prefix)/sbin
libdir ?= $(exec_prefix)/lib
datarootdir ?= $(prefix)/share
mandir ?= $(datarootdir)/man
docdir ?= $(datarootdir)/doc/ganeti-py
sysconfdir ?= /etc
localstatedir ?= /var
PYTHON_FOR_VENV ?= /usr/bin/python3
# daemon-util and the private virtualenv; pathutils looks for daemon-util in
# PREFIX/lib/ganeti, so this does not follow --libdir.
pkglibdir = $(prefix)/lib/ganeti

# ---------------------------------------------------------------------------
# Debian packages the project needs to run and test (the one list; see
# /work/shared/ENVIRONMENT.md and doc/install.md).
DEB_PACKAGES := \
	python3 python3-venv ca-certificates openssl \
	openssh-client openssh-server iproute2 socat procps util-linux curl \
	qemu-system-x86 qemu-utils busybox-static e2fsprogs fdisk lxc debootstrap ganeti-os-noop \
	ganeti-htools-3.0 python3-ganeti-rapi python3-pycurl \
	man-db groff-base

VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.ganeti-installed
DEMO_DIR ?= demo
PYTEST_ARGS ?=
ifeq ($(SKIP_SLOW),1)
PYTEST_MARK := -m "not slow"
endif

.PHONY: all deps venv demo demo-down check lint test bench install uninstall clean distclean

all: venv

# Install missing Debian packages (as root; otherwise only report them).
deps:
	@missing=$$(dpkg-query -W -f='$${db:Status-Abbrev} $${Package}\n' $(DEB_PACKAGES) 2>/dev/null \
	  | awk '$$1 == "ii" {print $$2}' | sort -u | comm -13 - <(printf '%s\n' $(DEB_PACKAGES) | sort -u)); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages: $$missing"; \
	    apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "warning: missing Debian packages (run make as root to install them): $$missing" >&2; \
	  fi; \
	fi

$(VPY): | deps
	$(PYTHON_FOR_VENV) -m venv $(VENV)

# The editable install's import hook costs ~8 ms at every gnt-* start; a plain
# path entry pointing at a `ganeti` symlink to lib/ imports the same code faster.
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install -q -e '.[test]'
	@site=$$($(VPY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	  mkdir -p $(VENV)/src-path && ln -sfn $(CURDIR)/lib $(VENV)/src-path/ganeti; \
	  rm -f $$site/__editable__.ganeti_py-*.pth; \
	  echo $(CURDIR)/$(VENV)/src-path > $$site/ganeti-src.pth
	@touch $@

venv: deps $(STAMP)
	@home=$$(sed -n 's/^home *= *//p' $(VENV)/pyvenv.cfg); \
	if [ "$$home" != "$$(dirname $(PYTHON_FOR_VENV))" ]; then \
	  echo "warning: $(VENV) was made with a python from $$home, not $(PYTHON_FOR_VENV);" \
	       "remove it (make distclean) and run make again" >&2; \
	fi

# ---------------------------------------------------------------------------
demo: venv
	@tools/vcluster down $(DEMO_DIR) >/dev/null
	tools/vcluster up $(DEMO_DIR) --nodes 1
	@. $(DEMO_DIR)/env; \
	show() { echo; echo "\$$ $$*"; eval "$$@"; rc=$$?; [ $$rc = 0 ] || echo "[exit code $$rc]"; }; \
	show gnt-cluster version; \
	show gnt-debug delay 0.1; \
	show gnt-debug delay --submit 0.1; \
	show gnt-job list; \
	show gnt-cluster verify; \
	show "gnt-cluster info | head -n 8"; \
	show gnt-instance add -o busybox -t file --disk 0:size=64M --no-name-check --no-ip-check demo1; \
	show gnt-instance add -t diskless -H fake -o noop --no-name-check --no-ip-check demo2; \
	show gnt-instance list; \
	show gnt-instance info demo1; \
	show gnt-instance console --show-cmd demo1; \
	show "tools/guest-console $(DEMO_DIR)/node1 demo1 'uname -a'"; \
	show 'curl -sk -u vcluster:$$(cat $(DEMO_DIR)/rapi.secret) https://$$(gnt-node list --no-headers -o pip | head -n 1):5080/2/instances; echo'
	@echo
	@echo "The demo cluster is running. Try it:"
	@echo "  . $(DEMO_DIR)/env                      # act as the master node of the demo cluster"
	@echo "  gnt-cluster info; gnt-cluster getmaster"
	@echo "  gnt-debug delay --submit 30; gnt-job list; gnt-job watch <id>; gnt-job cancel <id>"
	@echo "  gnt-job info 1; gnt-debug locks; gnt-os list"
	@echo "  gnt-cluster queue drain; gnt-cluster queue info; gnt-cluster queue undrain"
	@echo "  gnt-instance console demo1       # the guest's serial console (Ctrl-] leaves)"
	@echo "  gnt-instance shutdown demo1; gnt-instance startup demo1; gnt-instance list"
	@echo "  RAPI: user vcluster, password in $(DEMO_DIR)/rapi.secret, port 5080 of the node's address"
	@echo "  man -l man/gnt-cluster.8"
	@echo "Stop it with:  make demo-down   (or tools/vcluster down $(DEMO_DIR))"

demo-down:
	tools/vcluster down $(DEMO_DIR)

# ---------------------------------------------------------------------------
lint: venv
	$(VENV)/bin/ruff check . tools/vcluster

test: venv
	$(VENV)/bin/pytest -ra $(PYTEST_MARK) $(PYTEST_ARGS) test/

check: venv
	$(VENV)/bin/ruff check . tools/vcluster
	$(VENV)/bin/pytest -ra $(PYTEST_MARK) $(PYTEST_ARGS) test/

bench: venv
	bench/run

# ---------------------------------------------------------------------------
# make install: the package goes into a private virtualenv under pkglibdir
# (with its PyPI dependencies), the programs into sbindir with that
# virtualenv's python in their first line.
STAGE := build/install-src
INSTALL_VENV := $(pkglibdir)/venv
SED_PATHS := -e 's|^GNT_SYSCONFDIR=.*|GNT_SYSCONFDIR=$(sysconfdir)|' \
	-e 's|^GNT_LOCALSTATEDIR=.*|GNT_LOCALSTATEDIR=$(localstatedir)|' \
	-e 's|^GNT_SBINDIR=.*|GNT_SBINDIR=$(sbindir)|'

install:
	rm -rf $(STAGE)
	mkdir -p $(STAGE)
	cp -p pyproject.toml $(STAGE)/
	tar -C . --exclude=__pycache__ --exclude=_autoconf.py -cf - lib | tar -C $(STAGE) -xf -
	sed -e 's|@GNT_PREFIX@|$(prefix)|' -e 's|@GNT_SYSCONFDIR@|$(sysconfdir)|' \
	    -e 's|@GNT_LOCALSTATEDIR@|$(localstatedir)|' lib/_autoconf.py.in > $(STAGE)/lib/_autoconf.py
	test -x $(DESTDIR)$(INSTALL_VENV)/bin/python || $(PYTHON_FOR_VENV) -m venv $(DESTDIR)$(INSTALL_VENV)
	$(DESTDIR)$(INSTALL_VENV)/bin/python -m pip install -q --no-warn-script-location $(STAGE)
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(pkglibdir) $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(docdir)
	for f in scripts/*; do \
	  sed -e '1s|^#!.*python.*$$|#!$(INSTALL_VENV)/bin/python|' $$f > $(DESTDIR)$(sbindir)/$${f##*/}.tmp && \
	  chmod 0755 $(DESTDIR)$(sbindir)/$${f##*/}.tmp && \
	  mv -f $(DESTDIR)$(sbindir)/$${f##*/}.tmp $(DESTDIR)$(sbindir)/$${f##*/}; \
	done
	sed $(SED_PATHS) daemons/daemon-util > $(DESTDIR)$(pkglibdir)/daemon-util
	chmod 0755 $(DESTDIR)$(pkglibdir)/daemon-util
	sed $(SED_PATHS) daemons/ganeti-cleaner > $(DESTDIR)$(sbindir)/ganeti-cleaner
	chmod 0755 $(DESTDIR)$(sbindir)/ganeti-cleaner
	install -d $(DESTDIR)$(pkglibdir)/tools $(DESTDIR)$(pkglibdir)/os/busybox
	install -m 0755 tools/node-daemon-setup tools/kvm-console-wrapper tools/guest-kernel \
	  $(DESTDIR)$(pkglibdir)/tools/
	cp -p os/busybox/* $(DESTDIR)$(pkglibdir)/os/busybox/
	install -m 0644 man/*.8 $(DESTDIR)$(mandir)/man8/
	install -m 0644 README doc/*.md $(DESTDIR)$(docdir)/
	$(DESTDIR)$(INSTALL_VENV)/bin/python -c 'import json, sys; from ganeti.rapi import openapi, resources; json.dump(openapi.generate(resources.RESOURCES), sys.stdout, indent=1)' > $(DESTDIR)$(docdir)/rapi-openapi.json
	install -d $(DESTDIR)$(docdir)/examples
	install -m 0644 doc/examples/* $(DESTDIR)$(docdir)/examples/
	rm -rf $(STAGE)
	@echo "Installed: programs in $(sbindir), daemon-util and the Python environment in" \
	      "$(pkglibdir), man pages in $(mandir)/man8."

uninstall:
	for f in scripts/*; do rm -f $(DESTDIR)$(sbindir)/$${f##*/}; done
	rm -f $(DESTDIR)$(sbindir)/ganeti-cleaner
	for f in man/*.8; do rm -f $(DESTDIR)$(mandir)/man8/$${f##*/}; done
	rm -rf $(DESTDIR)$(pkglibdir) $(DESTDIR)$(docdir)

# ---------------------------------------------------------------------------
clean:
	rm -rf build *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	-@[ ! -d $(DEMO_DIR) ] || tools/vcluster down $(DEMO_DIR) >/dev/null
	rm -rf $(VENV) $(DEMO_DIR) config.mk config.status config.log lib/_autoconf.py autom4te.cache
