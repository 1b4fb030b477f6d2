# sbmoe — build, test and demo. Every target runs under Go 1.27.3 (fetched by the go command).
export GOTOOLCHAIN := go1.27.3
export GOFLAGS := -trimpath
GO ?= go
MODEL_DIR := models/all-MiniLM-L6-v2
SBMOE := bin/sbmoe

.PHONY: all build model test test-simd test-scalar check demo bench eval clean

all: build model

build:
	$(GO) build -o $(SBMOE) ./tools/sbmoe

model: $(MODEL_DIR)/.complete
$(MODEL_DIR)/.complete:
	bash tools/scripts/fetch-default-model.sh $(MODEL_DIR)

# The suite runs twice: with the SIMD kernels (GOEXPERIMENT=simd) and with their scalar twins.
test: model
	GOEXPERIMENT=simd $(GO) test -count=1 ./...
	$(GO) test -count=1 ./...

check:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) build ./core/...
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/...
	GOEXPERIMENT=simd GOOS=wasip1 GOARCH=wasm $(GO) build ./core/...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean:
	rm -rf bin
