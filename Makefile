# The two commands a new developer needs: `make run` and `make test`.
GO       ?= go
BIN      := bin/walrus
PKGS     := ./...
FUZZTIME ?= 10s
BENCHTIME ?= 1x

.PHONY: all build run test bench fuzz lint e2e vectors clean

all: build

VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/walrus

## run: start a local network (embedded chain, storage nodes, publisher/aggregator)
## in .devnet/; Ctrl-C stops it, running it again resumes. DEVNET_FLAGS adds flags.
DEVNET_DIR ?= .devnet
run: build
	./$(BIN) devnet --dir $(DEVNET_DIR) $(DEVNET_FLAGS)

## test: every test, with the race detector (one build configuration, so the
## dependency graph is compiled once).
test:
	$(GO) test -race -timeout 15m $(PKGS)

## bench: benchmarks (numbers for issue notes); BENCH=regexp to narrow.
## For the devnet's shape (4 nodes, n = 100, the embedded chain on disk):
##   BenchmarkCLI (cmd/walrus): real processes, as `make run` users see them:
##     `walrus devnet`, `walrus store` / `walrus read --out`, and PUT / GET
##     through a `walrus daemon`: store and read MB/s of 1 MiB and 64 MiB blobs.
##   BenchmarkLocalNetwork (network/devnet): the same shapes through the client
##     library and HTTP in one process; p50 / p99 of 1 KiB stores and reads;
##     of the largest blob: time to the first byte of a GET, time and sliver
##     bytes of a 1 MB range read, peak heap during a GET and a PUT.
##   BenchmarkEncode/n=1000/size=64MiB and .../size=1KiB (encoding): encode
##     time at n = 1000.
## WALRUS_BENCH_LARGE=1 adds 140 MB blobs to both network benchmarks (the
## TTFB, range and peak figures are then of 140 MB). Just those, e.g.:
##   WALRUS_BENCH_LARGE=1 make bench BENCH='CLI|LocalNetwork' PKGS='./cmd/walrus ./network/devnet'
##   make bench BENCH='Encode/n=1000' PKGS=./encoding
BENCH ?= .
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) $(PKGS)

## fuzz: every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## lint: formatting, go vet, staticcheck (v0.8.0, installed into ./bin by this
## target: the newest the module proxy here serves).
STATICCHECK := bin/staticcheck
$(STATICCHECK):
	GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.0
lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

## e2e: long end-to-end runs with real processes (large blobs, soak), and
## the operator's pages in headless Chromium (installed here if missing;
## TestE2EPages writes its screenshots to $WALRUS_E2E_ARTIFACTS/pages).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
e2e:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)
	WALRUS_E2E_LONG=1 $(GO) test -race -timeout 60m -run 'E2E' -v ./cmd/walrus/...

## vectors: regenerate the golden RS2 vectors with Walrus's own encoder (needs Node.js).
vectors:
	encoding/testdata/gen.sh

clean:
	rm -rf bin
