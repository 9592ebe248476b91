# SpacePanda — run `make help` for the targets.
GO          ?= go
PKGS        ?= ./...
FUZZTIME    ?= 60s
BENCHTIME   ?= 1s
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
export MLS_TEST_VECTORS ?= $(CURDIR)/../shared/mls/test-vectors
# The MLS working group's interop proto and the pinned generators (make proto).
MLS_PROTO          ?= $(CURDIR)/../shared/mls/interop/mls_client.proto
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PB_DIR             := cmd/mls-client/internal/pb
PB_PKG             := github.com/spacepanda/spacepanda/$(PB_DIR)

.PHONY: help build test race lint fuzz bench demo soak check tidy proto mls-client

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## compile every package and the spacepanda binary into bin/
	$(GO) build $(PKGS)
	$(GO) build -o bin/spacepanda ./cmd/spacepanda

test: ## run the test suite (what CI runs; under 15 minutes on 2 cores)
	$(GO) test -count=1 -timeout 14m $(PKGS)

race: ## run the test suite under the race detector
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

lint: ## go vet, gofmt and staticcheck
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(STATICCHECK) $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each (default 60s; not in CI)
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh $(PKGS)

bench: ## run the benchmarks (BENCHTIME per benchmark)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m $(PKGS)

mls-client: ## build the MLS interop client (gRPC MLSClient) into bin/
	$(GO) build -o bin/mls-client ./cmd/mls-client

proto: ## regenerate cmd/mls-client/internal/pb from the interop proto (installs the pinned generators, protoc via apt-get)
	@command -v protoc >/dev/null || (apt-get update && apt-get install -y protobuf-compiler)
	GOBIN=$(CURDIR)/bin $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(CURDIR)/bin $(GO) install $(PROTOC_GEN_GO_GRPC)
	PATH=$(CURDIR)/bin:$$PATH protoc -I $(dir $(MLS_PROTO)) \
	  --go_out=$(PB_DIR) --go_opt=paths=source_relative '--go_opt=Mmls_client.proto=$(PB_PKG);pb' \
	  --go-grpc_out=$(PB_DIR) --go-grpc_opt=paths=source_relative '--go-grpc_opt=Mmls_client.proto=$(PB_PKG);pb' \
	  $(MLS_PROTO)

demo: ## run the local three-node demo on loopback
	./scripts/demo.sh

soak: build ## the long testbed runs of docs/testbed.md (about 10 minutes; not in CI)
	./scripts/soak.sh

check: build lint test ## build, lint and test: run before every submission

tidy: ## go mod tidy
	$(GO) mod tidy
