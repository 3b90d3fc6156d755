# shmkit — the user's entry point. See README.md.
#   make                 build (build/)
#   make check           build and run the tests; SANITIZE=address,undefined or SANITIZE=thread
#   make soak            long randomized conformance runs against the kernel
#   make demo            build and run the demos (System V programs on shmkit, a segment,
#                        a channel whose consumer is killed with kill -9, the same from
#                        Python with a work queue)
#   make bench           run the benchmarks, write docs/bench.md
#   make install         PREFIX=/usr/local DESTDIR=
#   make format          clang-format every source file (make format-check: verify only)
PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?=
WERROR   ?= 1
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

comma := ,
ifeq ($(SANITIZE),)
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
else
BUILD ?= build-$(subst $(comma),-,$(SANITIZE))
BUILD_TYPE ?= Debug
endif
BENCH_BUILD ?= build-bench

CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) \
	-DSHMKIT_SANITIZE=$(SANITIZE) -DSHMKIT_WERROR=$(if $(filter 1,$(WERROR)),ON,OFF)

.PHONY: all build check soak demo bench install format format-check clean deps-build deps-check deps-bench

all: build

deps-build:
	@scripts/deps.sh build
deps-check:
	@scripts/deps.sh check
deps-bench:
	@scripts/deps.sh check bench

$(BUILD)/CMakeCache.txt: CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: deps-check $(BUILD)/CMakeCache.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

check: build
	scripts/check.sh $(BUILD)

soak: build
	scripts/soak.sh $(BUILD)

demo: build
	scripts/demo-sysv.sh $(BUILD)
	scripts/demo.sh $(BUILD)
	scripts/demo-chan.sh $(BUILD)
	scripts/demo-python.sh $(BUILD)

bench: deps-bench
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DSHMKIT_TESTS=OFF >/dev/null
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	bench/run.sh $(BENCH_BUILD)

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

format:
	find include src tests bench examples tools preload python -name '*.[ch]' | xargs clang-format -i

format-check:
	find include src tests bench examples tools preload python -name '*.[ch]' | \
		xargs clang-format --dry-run -Werror

clean:
	rm -rf build build-* 
