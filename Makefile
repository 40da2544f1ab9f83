# irp_batch: PGXS build, tests and demo.
#
#   make                 build
#   make install         install into the server that pg_config names
#   make test            bootstrap, build, install, run every suite in a throwaway cluster
#   make demo            bootstrap, build, install, show the proposal's scenario in a throwaway cluster

EXTENSION  = irp_batch
MODULE_big = irp_batch
# The pure rules (src/rules/): plain C++ that includes no PostgreSQL header
# (the rules check below compiles them without PostgreSQL's headers; the unit
# tests in test/unit/ run them without a server).
RULES_OBJS = \
	src/rules/text.o \
	src/rules/problem.o \
	src/rules/guard_rules.o \
	src/rules/arg_rules.o \
	src/rules/audit_events.o \
	src/rules/payload.o \
	src/rules/status_text.o
OBJS = \
	$(RULES_OBJS) \
	src/irp_batch.o \
	src/pg_guard.o \
	src/queries.o \
	src/sql_args.o \
	src/batch_table.o \
	src/key_claim.o \
	src/batch_guard.o \
	src/enum_labels.o \
	src/row_insert.o \
	src/event_writer.o \
	src/event_details.o \
	src/usable_index.o \
	src/batch_audit.o \
	src/audit_table_guard.o \
	src/drop_guard.o \
	src/drop_warning.o \
	src/new_batch.o \
	src/create_batch.o \
	src/cancel_batch.o \
	src/active_batches.o \
	src/result_set.o \
	src/preflight.o \
	src/ensure_batch.o \
	src/request_claim.o \
	src/status_queries.o \
	src/notifications.o \
	src/job_progress.o \
	src/batch_progress.o
# Install scripts (extension/). Those of released versions (1.0 to 2.0) are
# kept exactly as released: 2.0's two were assembled by make from the pieces
# as they were at its release (their first line still says so) and are now
# plain files. The newest version's scripts are assembled from the pieces.
DATA = extension/irp_batch--1.0.sql extension/irp_batch--1.0--1.1.sql extension/irp_batch--1.1.sql \
       extension/irp_batch--1.1--1.2.sql extension/irp_batch--1.2.sql \
       extension/irp_batch--2.0.sql extension/irp_batch--1.2--2.0.sql
DATA_built = extension/irp_batch--2.1.sql extension/irp_batch--2.0--2.1.sql
# The code: trigger functions, the SQL API, the drop warning, irp_batch_setup().
CODE_PIECES = extension/triggers.sql extension/api.sql extension/drop_warning.sql extension/setup.sql
# What an update from the previous version runs again: the code, but the
# event trigger, which it has.
UPDATE_PIECES = $(filter-out extension/drop_warning.sql,$(CODE_PIECES))
EXTRA_CLEAN = src/rules/pure.stamp
PGFILEDESC = "irp_batch - duplicate-batch prevention for IRP batches"

# pg_regress suites: sql/NAME.sql, expected/NAME.out
REGRESS = scenario direct_dml bad_input audit audit_writer direct_paths direct_parity trigger_safety schema security search_path preflight request_id drop_guard upgrade adopt bulk_load progress
REGRESS_OPTS = --inputdir=. --encoding=UTF8

# Isolation tester suites: specs/NAME.spec, expected/NAME.out
ISOLATION = race_create race_window race_duplicate race_cancel race_reactivate race_ensure \
            race_moving_target race_upsert race_index_build race_request race_attach \
            notify_events notify_progress notify_bound race_drop_tables
ISOLATION_OPTS = --inputdir=. --encoding=UTF8 --load-extension=irp_batch

# TAP suites: t/*.pl (PostgreSQL::Test::Cluster; crash recovery, standby).
# They start clusters of their own, as a user other than root, so
# make installcheck, which tests an existing server (PGHOST, PGPORT, PGUSER),
# runs only the two suites above: make installcheck TAP_TESTS=1 adds them
# (make test does).
TAP_TESTS ?=

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

ifneq ($(PGXS),)
# Our own code must build warning-free; PostgreSQL's headers are system headers.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror
SHLIB_LINK = -lstdc++

include $(PGXS)

# PostgreSQL built with LLVM also compiles each .cpp to bitcode with clang for
# JIT inlining; clang needs the same language level (its default is C++14).
BITCODE_CXXFLAGS += -std=c++17

# The rules check: src/rules/ compiles without PostgreSQL's headers, so no
# pure file can include one (directly or through another header). The build
# fails here if one does.
RULES_SRCS = $(RULES_OBJS:.o=.cpp)
all: src/rules/pure.stamp
src/rules/pure.stamp: $(RULES_SRCS) $(wildcard src/rules/*.hpp) src/pg_memory.hpp
	$(CXX) -std=c++17 -Wall -Wextra -Werror -fsyntax-only $(RULES_SRCS:%=$(srcdir)/%)
	@touch $@
# PGXS tracks no header dependencies: rebuild every object when a header changes.
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/*.hpp src/rules/*.hpp)

# Out-of-tree builds (make -f SRCDIR/Makefile VPATH=SRCDIR, as pg_buildext and
# dh --with pgxs do for the Debian package) need the folders of what they build.
ifdef VPATH
$(shell mkdir -p $(sort $(dir $(OBJS) $(DATA_built))))
endif
else
all install installcheck:
	@echo "$(PG_CONFIG) not found: install postgresql-server-dev-15 (make test and make demo do)" >&2; exit 1
endif

# A fresh install: the code, then the tables (unless in a restore).
extension/irp_batch--2.1.sql: extension/header.sql $(CODE_PIECES) extension/install.sql
	{ echo '-- irp_batch--2.1.sql: made by make from the pieces in extension/; edit those'; cat $^; } > $@

# From 2.0: the function whose result changed goes, the code again (every
# function is CREATE OR REPLACE; the event trigger exists already), then the
# tables get the new trigger.
extension/irp_batch--2.0--2.1.sql: extension/header.sql extension/update--2.0--2.1.sql $(UPDATE_PIECES) extension/update--2.0--2.1-end.sql
	{ echo '-- irp_batch--2.0--2.1.sql: made by make from the pieces in extension/; edit those'; cat $^; } > $@

.PHONY: test demo deps stress bench
deps:
	@bash test/bootstrap.sh

test: deps
	@bash test/run-tests.sh

demo: deps
	@bash test/demo.sh

# The benchmark (bench/README.md): a throwaway cluster, every comparison,
# bench/results/results.md and chart.svg. make test runs it with tiny sizes.
bench: deps install
	@bash bench/run.sh

# The stress check, the outside load (pgbench) and the upsert race alone, for longer:
#   make stress STRESS_SECONDS=600 STRESS_CLIENTS=8 OUTSIDE_SECONDS=120 OUTSIDE_CLIENTS=8 UPSERT_SECONDS=120
stress: deps
	@STRESS_ONLY=1 bash test/run-tests.sh

# Packaging (README, Installation). The version is the control file's
# default_version; META.json, debian/changelog and clients/python/pyproject.toml
# must say the same (make test checks: test/meta.py).
#   make deb    postgresql-15-irp-batch_VERSION-1_ARCH.deb, built with
#               dpkg-buildpackage in a copy of the tree (packaging/build-deb.sh)
#   make dist   irp_batch-VERSION.zip for PGXN, with git archive of HEAD
#               (VERSION as META.json spells it: SemVer, 1.2 is 1.2.0), in
#               DIST_OUT (default: here)
DISTVERSION = $(shell python3 -c 'import json; print(json.load(open("META.json"))["version"])')
.PHONY: deb dist
deb: deps
	@bash packaging/build-deb.sh

DIST_OUT ?= .
dist:
	git archive --format=zip --prefix=$(EXTENSION)-$(DISTVERSION)/ -o $(DIST_OUT)/$(EXTENSION)-$(DISTVERSION).zip HEAD
	@echo "$(DIST_OUT)/$(EXTENSION)-$(DISTVERSION).zip"

# Unit tests of the pure rules (test/unit/, docs/tests.md): doctest (Debian's
# doctest-dev) and src/rules/ compiled into one program, without PostgreSQL's
# headers, and run without a server. Their objects stay in test/unit/, apart
# from the PGXS objects built with PostgreSQL's flags.
#   make unit                          build and run them
#   make unit UNIT_ARGS='-tc=decide*'  doctest's options (--help lists them)
UNIT_CXX ?= g++
UNIT_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -g -O1 -MMD -MP -DIRP_SOURCE_DIR='"$(CURDIR)"'
UNIT_TESTS = main memory guard_rules_test arg_rules_test text_test problem_test audit_events_test \
             payload_test status_text_test
UNIT_RULE_OBJS = $(RULES_OBJS:src/rules/%=test/unit/rules/%)
UNIT_TEST_OBJS = $(UNIT_TESTS:%=test/unit/%.o)
UNIT_OBJS = $(UNIT_RULE_OBJS) $(UNIT_TEST_OBJS)
.PHONY: unit clean-unit
unit: test/unit/rules_test
	test/unit/rules_test $(UNIT_ARGS)
test/unit/rules_test: $(UNIT_OBJS)
	$(UNIT_CXX) -o $@ $^
$(UNIT_RULE_OBJS): test/unit/rules/%.o: src/rules/%.cpp
	@mkdir -p $(@D)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) -c -o $@ $<
$(UNIT_TEST_OBJS): test/unit/%.o: test/unit/%.cpp
	$(UNIT_CXX) $(UNIT_CXXFLAGS) -c -o $@ $<
-include $(UNIT_OBJS:.o=.d)
clean: clean-unit
clean-unit:
	rm -rf test/unit/rules test/unit/*.o test/unit/*.d test/unit/rules_test
