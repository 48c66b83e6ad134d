# dais — see README.md. Every target works on a fresh clone with Go 1.26.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# No CGO_CFLAGS here: go-nvml v0.12 builds without warnings under Go's
# defaults, so make and a plain go run share one build cache (.ci/run
# checks that a first go run prints no compiler warning).

.PHONY: build test claims bench lint demo clean slurm-test

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/dais ./cmd/dais

# The README's test command. The race detector runs on the packages that
# start goroutines or take locks (found by grep, so a new one is not
# forgotten); the simulator's runners are single-threaded by design, and
# their concurrent use is raced through sim/runner's and the sweep's tests.
RACE_RE   := "sync"|go func|^[[:space:]]*go [[:alnum:]_.]+[(]
RACE_PKGS  = $(shell grep -rlE --include='*.go' --exclude='*_test.go' '$(RACE_RE)' cmd gpu live metrics protocol reports scenarios sim | xargs -n1 dirname | sort -u | sed 's|^|./|')
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race $(RACE_PKGS)

# The claim tests too heavy for make test, whole (CI runs them after it):
# make test runs a lighter cut of each, or a light test of the same path.
claims:
	DAIS_CLAIMS=1 $(GO) test -count=1 -run 'TestEconomySpearman20|TestShapleyErrorAt8|TestTokenShareBelowNodeShare|TestSybilFoolsGold|TestSurrogate$$' ./sim/learnrun/
	DAIS_CLAIMS=1 $(GO) test -count=1 -run 'TestSumIsPlainFedAvg' ./protocol/secagg/
	$(GO) test -count=1 -run 'TestMMcMatchesErlangC' ./sim/marketrun/ -args -mmc.full

# A sweep run as a Slurm job array on a one-node cluster started on this
# machine (root: it installs slurm-wlm and munge); CI runs it after test.
slurm-test:
	bash .ci/slurm-sweep.sh

# Long benchmarks; results go in BENCHMARKS.md with the machine they ran on.
# BENCH=pattern narrows them, e.g. make bench BENCH=Hold.
BENCH ?= .
bench:
	$(GO) test -run '^$$' -bench 'Hold' -count 6 ./sim/
	$(GO) test -run '^$$' -bench 'BlockProp' -benchtime 20x -count 6 ./sim/blockprop/
	$(GO) test -run '^$$' -bench 'RecorderOverhead' -benchtime 20x -count 6 ./sim/blockprop/
	$(GO) test -run '^$$' -bench '$(BENCH)' -count 5 ./protocol/chain/ ./metrics/record/ ./gpu/models/
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime 1x -count 5 ./sim/consensusrun/ ./sim/marketrun/ ./sim/learnrun/
	$(GO) test -run '^$$' -bench 'TokenomicsSweep' -benchtime 1x -count 2 ./sim/sweep/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...; \
	else echo "staticcheck did not install; skipped"; fi

demo: build
	./bin/dais run

clean:
	rm -rf bin
