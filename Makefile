# Thin wrapper over CMake. `make demo` and `make test` work on a fresh Debian 12 machine.
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZERS    := $(patsubst fuzz/%_fuzzer.cpp,%,$(wildcard fuzz/*_fuzzer.cpp))
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
ARM64_BUILD ?= build-arm64

.PHONY: all deps configure build fuzz-build test demo bench sanitize fuzz clean kiosk-test package package-test

all: build

deps:
	@bash packaging/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The libFuzzer harnesses (docs/fuzzing.md): clang, only the libraries they link.
fuzz-build: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOYALTY_FUZZ=ON \
		-DLOYALTY_TESTS=OFF -DLOYALTY_WERROR=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_harnesses

test: build fuzz-build
	@cd $(BUILD) && ctest --output-on-failure --timeout 1500 -j $(JOBS)
	@cd $(FUZZ_BUILD) && ctest --output-on-failure --timeout 600 -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@bash bench/run.sh $(BUILD)

sanitize: deps
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLOYALTY_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	@cd $(SAN_BUILD) && LOYALTY_SANITIZED=1 ctest --output-on-failure --timeout 3000 -j $(JOBS)

# Each harness fuzzes FUZZ_SECONDS; inputs that add coverage are merged into fuzz/corpus.
fuzz: fuzz-build
	@rm -rf $(FUZZ_BUILD)/fuzz-runs
	@for f in $(FUZZERS); do bash fuzz/run.sh long $(FUZZ_BUILD)/bin/fuzz_$$f $$f $(FUZZ_SECONDS) $(FUZZ_BUILD)/fuzz-runs; done \
		| tee $(FUZZ_BUILD)/fuzz-summary.txt
	@! grep -qv ' findings 0 ' $(FUZZ_BUILD)/fuzz-summary.txt || { echo "fuzz: findings above; see docs/fuzzing.md"; exit 1; }

# The kiosk checks alone (tests/kiosk, docs/kiosk.md): weston, cage and Xvfb sessions, ~30 s.
kiosk-test: configure
	@cmake --build $(BUILD) -j $(JOBS) --target loyalty-terminal
	@cd $(BUILD) && ctest --output-on-failure -L kiosk

# Debian packages into $(BUILD)/packages (cmake/Packaging.cmake; docs/install.md).
package: configure
	@cmake --build $(BUILD) -j $(JOBS) --target loyalty-terminal loyalty-hq loyalty_package_files
	@cd $(BUILD) && cpack -G DEB

# Both packages installed with apt into a clean Debian 12 root and run there (needs the archive).
package-test: package
	@bash tests/packaging/package_test.sh $(BUILD)/packages $(BUILD)/package-test-cache $(ARCH)

clean:
	@rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)

# arm64 (docs/cross-arm64.md): the cross build in $(ARM64_BUILD) against an arm64 sysroot of
# Debian packages, and the core, db, terminal and sync tests run by qemu-user.
.PHONY: arm64 test-arm64 package-arm64
arm64: deps
	@ARM64_BUILD=$(ARM64_BUILD) JOBS=$(JOBS) bash scripts/cross/arm64.sh build

test-arm64: deps
	@ARM64_BUILD=$(ARM64_BUILD) JOBS=$(JOBS) bash scripts/cross/arm64.sh test

# The arm64 packages into $(BUILD)/packages beside the amd64 ones; `make package ARCH=arm64`
# builds both.
package-arm64: deps
	@ARM64_BUILD=$(ARM64_BUILD) JOBS=$(JOBS) bash scripts/cross/arm64.sh package $(BUILD)/packages
package: $(if $(filter arm64,$(ARCH)),package-arm64)

# The counter device's disk image (docs/image.md), as root: ARCH=amd64 (default) or arm64, from
# the loyalty-terminal package of $(BUILD)/packages. image-test checks it from the inside.
ARCH      ?= amd64
IMAGE_OUT ?= $(BUILD)/image-$(ARCH)
.PHONY: image image-test
image: package
	@bash scripts/image-build.sh --arch $(ARCH) --out $(IMAGE_OUT) --cache $(BUILD)/image-cache --packages $(BUILD)/packages

image-test: image
	@bash scripts/image-test.sh $(IMAGE_OUT)/loyalty-terminal-$(ARCH).img $(BUILD)

# Soak (docs/reliability.md): terminals and head office (SOAK_BACKEND sqlite or postgresql) killed
# at random points for DURATION seconds in SOAK_WORLDS independent worlds at once (each its own
# head office, terminals, data directories and seed); SOAK_SEED repeats a run's choices. The run is
# added to bench/results/reliability.json ("soak": "runs" and their "total") every
# SOAK_WRITE_EVERY seconds while it runs and at its end, so a run cut short still counts.
DURATION ?= 600
SOAK_BACKEND ?= sqlite
SOAK_WORLDS ?= 3
SOAK_WRITE_EVERY ?= 60
SOAK_SEED ?=
.PHONY: soak
soak: configure
	@cmake --build $(BUILD) -j $(JOBS) --target test_soak
	@LOYALTY_TERMINAL_BIN=$(abspath $(BUILD))/bin/loyalty-terminal LOYALTY_SOAK_SECONDS=$(DURATION) \
		LOYALTY_SOAK_WORLDS=$(SOAK_WORLDS) LOYALTY_SOAK_WRITE_EVERY=$(SOAK_WRITE_EVERY) \
		$(if $(SOAK_SEED),LOYALTY_SOAK_SEED=$(SOAK_SEED)) \
		LOYALTY_SOAK_RESULTS=$(CURDIR)/bench/results/reliability.json nice $(BUILD)/bin/test_soak "[$(SOAK_BACKEND)]"

# Network faults on real interfaces (tests/net, as root): SCHEDULES seeded schedules, SEED the first
# (default: from the clock; schedule i has seed SEED+i whichever worker runs it), WORKERS schedule
# workers at once (each with its own PostgreSQL, two head offices, namespaces and proxies; 4 gave
# the most schedules a minute on the 2-core host), NETFAULT_SECONDS a time budget (no new schedule
# starts after it; 0: none; SIGTERM or Ctrl-C also ends the run with its figures written). The
# figures go to $(BUILD)/netfaults.json and, every 100 schedules and at the end, into
# bench/results/reliability.json ("network": one entry per run, and the total over all runs).
# Re-run one schedule: make netfaults SEED=<seed> SCHEDULES=1 WORKERS=1.
SCHEDULES ?= 1000
WORKERS ?= 4
NETFAULT_SECONDS ?= 0
.PHONY: netfaults
netfaults: configure
	@cmake --build $(BUILD) -j $(JOBS) --target test_net loyalty-terminal loyalty-hq
	@LOYALTY_TERMINAL_BIN=$(abspath $(BUILD))/bin/loyalty-terminal LOYALTY_NETFAULT_SCHEDULES=$(SCHEDULES) \
		LOYALTY_NETFAULT_SEED=$(SEED) LOYALTY_NETFAULT_WORKERS=$(WORKERS) LOYALTY_NETFAULT_SECONDS=$(NETFAULT_SECONDS) \
		LOYALTY_NETFAULT_REPORT=$(abspath $(BUILD))/netfaults.json LOYALTY_NETFAULT_RESULTS=$(CURDIR)/bench/results/reliability.json \
		nice -n 19 $(BUILD)/bin/test_net "Network faults: terminals*"
