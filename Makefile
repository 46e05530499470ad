# loge: `make run` builds and starts the server; `make test` builds and runs every test.
# Both install what is missing first (scripts/install-deps.sh, Debian 12).

BUILD      ?= build/release
ASAN_BUILD ?= build/asan
JOBS       ?= 2
PORT       ?= 3000
DATA       ?= data/
CMAKE_GEN  := -G Ninja

.PHONY: all deps build run test test-asan test-tsan fuzz bench clean thread-safety

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

TSAN_BUILD ?= build/tsan
# The suites whose code runs on several threads (the store's flush workers,
# merger, checkpointer and WAL writer; the head; the query fan-out; the
# file set, caches and tail queue), with MergesUnderLoad as the stress test:
# pushes, queries and merges at once.
TSAN_TESTS ?= MergesUnderLoad.*:Merges.*:Store.*:Wal.*:Checkpointer*:SeqTracker.*:FileSet.*:FilterCache.*
TSAN_TESTS := $(TSAN_TESTS):RemoteCache.*:FrameCache.*:SeekableZstdThreads.*:ZstdVfs.*:TailQueue.*:EngineTest.*
TSAN_TESTS := $(TSAN_TESTS):Deletes.*:Damage.*:Retention.*:DiskGuard.*:Histogram.*:LogThrottle.*:SyslogListener.*

$(TSAN_BUILD)/build.ninja:
	cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DLOGE_TSAN=ON -DLOGE_BUILD_BENCH=OFF

# The concurrent parts under ThreadSanitizer (the unit tests only: the
# integration suites run the release binary).
test-tsan: deps $(TSAN_BUILD)/build.ninja
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target loge_unit_tests
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(TSAN_BUILD)/loge_unit_tests --gtest_filter='$(TSAN_TESTS)'

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
