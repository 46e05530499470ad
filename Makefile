# loge: `make run` builds and starts the server; `make test` builds and runs every test.
# Both install what is missing first (scripts/install-deps.sh, Debian 12).

BUILD      ?= build/release
ASAN_BUILD ?= build/asan
JOBS       ?= 2
PORT       ?= 3000
DATA       ?= data/
CMAKE_GEN  := -G Ninja

.PHONY: all deps build run test test-asan fuzz bench clean thread-safety

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/loge serve --port $(PORT) --output-path $(DATA)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DLOGE_SANITIZE=ON -DLOGE_BUILD_BENCH=OFF

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE "slow|clients"

# clang's -Wthread-safety over every source file (the build uses g++, which
# ignores the lock annotations of src/core/mutex.h).
thread-safety: build
	python3 scripts/thread_safety.py $(BUILD)

# Every libFuzzer target (src/*/*_fuzz.cc), built with clang, FUZZ_SECONDS each.
fuzz: deps
	bash scripts/fuzz.sh

bench: build
	@echo "see docs/benchmarks.md for the benchmark commands"

clean:
	rm -rf build

# The web UI: web/ (TypeScript + Preact) bundled by esbuild into webdist/,
# which is committed and embedded into the binary, so `make run` needs no Node.
# npm packages come from web/package-lock.json (npm ci).
.PHONY: web web-check
web:
	bash web/scripts/npm-ci.sh web
	cd web && node scripts/build.mjs

# Fails if the committed webdist/ differs from a fresh build of web/.
web-check:
	bash web/scripts/npm-ci.sh web
	cd web && node scripts/build.mjs --check
