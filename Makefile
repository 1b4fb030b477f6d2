# sbmoe — build, test, demo, evaluate, benchmark.
# Every target runs under Go 1.27.3, which the go command fetches from the module proxy.
export GOTOOLCHAIN := go1.27.3
GO ?= go
MODEL_DIR := models/all-MiniLM-L6-v2
SBMOE := bin/sbmoe
DATA ?= ../shared/data
DATASETS := scifact cisi medline cacm npl lisa adi
# Python with torch, sentence-transformers, onnxruntime, pytrec_eval: only for writing
# reference files and for the peer benchmark, never for the tests.
PYTHON ?= .venv/bin/python
DEMO_QUERIES := "split a string around each comma" "read a file line by line" \
	"decode JSON into a struct" "sort a slice of integers" "wait for all goroutines to finish"

.PHONY: all build model browser-deps test check demo eval experiment bench bench-train profile reference clean

all: build model

# bin/sbmoe, and bin/web: the browser runtime sbmoe bundle copies into bundles (the
# WebAssembly module built with SIMD128, and Go's wasm_exec.js of the same toolchain).
build:
	GOEXPERIMENT=simd $(GO) build -o $(SBMOE) ./tools/sbmoe
	@mkdir -p bin/web
	GOEXPERIMENT=simd GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o bin/web/sbmoe.wasm ./wasm/browser
	install -m 0644 "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" bin/web/wasm_exec.js

model: $(MODEL_DIR)/.complete
$(MODEL_DIR)/.complete:
	bash tools/scripts/fetch-default-model.sh $(MODEL_DIR)

# Packages the browser and the edge worker run: their tests run again inside the
# WebAssembly build (GOOS=wasip1) under wazero. The encoder itself is checked there by
# wasm/wasi, which compares the WebAssembly build's vectors with the native ones.
WASM_TESTED := ./core/internal/kernel/ ./core/index/ ./core/metrics/ ./core/train/ ./core/tokenizer/ \
	./core/weights/ ./core/retriever/ ./core/bundle/ ./core/lexical/ ./moe/ ./moe/headtrain/ ./wasm/edge/api/

# Debian chromium and wabt, and the npm packages of tools/browser (playwright-core) in the
# git-ignored out/browser-node: the Chromium tests need them. Without root it prints the
# command to run and fails; the browser tests are never skipped silently.
browser-deps:
	bash tools/browser/install.sh

# npm workerd (pinned in tools/edge/package-lock.json; its binary ships inside the npm
# package) into the git-ignored out/edge-node: the edge tests (tools/edgetest) run the
# worker in it. Idempotent; the edge tests fail with this command when it is missing.
.PHONY: edge-deps bench-edge
edge-deps:
	bash tools/edge/install.sh

# The suite runs twice: with the SIMD kernels (GOEXPERIMENT=simd) and with their scalar
# twins (the Chromium tests of tools/browsertest too, each build's module in the page);
# then the browser's packages run again inside the WebAssembly build under wazero, and the
# kernels once more with the purego tag.
test: model browser-deps edge-deps
	GOEXPERIMENT=simd $(GO) test -count=1 -timeout=40m ./...
	$(GO) test -count=1 -timeout=40m ./...
	$(GO) build -o bin/wasmexec ./tools/wasmexec
	GOEXPERIMENT=simd GOOS=wasip1 GOARCH=wasm $(GO) test -count=1 -timeout=40m -exec "$(CURDIR)/bin/wasmexec" $(WASM_TESTED)
	$(GO) test -count=1 -timeout=40m -tags purego ./core/internal/kernel/

# Static checks and every build target; fails if go.mod or go.sum are not tidy.
check:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOEXPERIMENT=simd $(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) build ./core/... ./moe/...
	GOEXPERIMENT=simd GOOS=js GOARCH=wasm $(GO) build ./core/... ./moe/... ./wasm/...
	GOEXPERIMENT=simd GOOS=js GOARCH=wasm $(GO) vet ./wasm/browser
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/... ./moe/... ./wasm/...
	GOEXPERIMENT=simd GOOS=wasip1 GOARCH=wasm $(GO) build ./core/... ./moe/... ./wasm/...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

# Fuzz each fuzz target whose name matches FUZZ, one after another, for FUZZTIME each: about
# four minutes for the 17 targets at the defaults, with a worker per core. It fails on a
# crash, on a hang and on a memory bound exceeded: the readers' targets check every input
# against their allocation bound and a 2 s time limit (checkRead in their tests), which Go's
# fuzzer does not have. Go keeps a failing input in <package>/testdata/fuzz/<target>/, where
# `go test` (and so `make test`) replays it from then on. Inputs are not minimized: Go's
# minimizer took most of the workers' time on these targets (FuzzReadHead ran 66 inputs a
# second per worker with it, 4,400 without). The last lines sum up each target.
FUZZ ?= ^Fuzz
FUZZTIME ?= 10s
.PHONY: fuzz
fuzz:
	@listed=$$(GOEXPERIMENT=simd $(GO) test -list '$(FUZZ)' ./... 2>&1); failed=$$?; \
	[ $$failed = 0 ] || echo "$$listed" | grep -v '^Fuzz\|^Test\|^Example\|^Benchmark\|^ok\|no test files'; \
	summary=$$(mktemp); log=$$(mktemp); \
	for target in $$(echo "$$listed" | awk '/^Fuzz/ { n[c++] = $$1 } /^ok/ { for (i = 0; i < c; i++) print $$2 ":" n[i]; c = 0 }'); do \
		pkg=$${target%:*}; name=$${target##*:}; echo "== $$name ($$pkg)"; \
		GOEXPERIMENT=simd $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=0 $$pkg >$$log 2>&1; \
		rc=$$?; cat $$log; [ $$rc = 0 ] || failed=1; \
		awk -v name=$${pkg#*/*/*/}.$$name -v rc=$$rc '/now fuzzing with/ { w = $$(NF-1) } /execs:/ { e = $$0 } \
			END { match(e, /elapsed: [0-9hms]+/); t = substr(e, RSTART + 9, RLENGTH - 9); s = 0; \
			if (t ~ /m/) { split(t, a, "m"); s = 60 * a[1]; t = a[2] } sub(/s/, "", t); s += t; \
			match(e, /execs: [0-9]+/); x = substr(e, RSTART + 7, RLENGTH - 7); \
			printf "%-40s %-4s %9d execs in %3ds, %6.0f per second per worker\n", name, rc == 0 ? "ok" : "FAIL", x, s, s && w ? x / s / w : 0 }' $$log >>$$summary; \
	done; echo "== summary (FUZZTIME=$(FUZZTIME))"; cat $$summary; rm -f $$summary $$log; exit $$failed

# The product's main job: the Go standard library's documentation in your GOROOT rendered
# as a static site (out/godoc-site), indexed by sbmoe site (the search widget and its
# bundle in out/godoc-site/_sbmoe; a second run reuses every encoding), checked once in
# headless Chromium (the widget's top results for the sample queries, and the screenshots
# results/site-widget.png and site-widget-dark.png), then served on 127.0.0.1 until Ctrl-C.
# SERVE=0 stops after the check, for scripts and tests. Needs the model and Chromium, not
# ../shared.
DEMO_SITE := out/godoc-site
SERVE ?= 1
# The widget's module (ui/widget, vugu) beside the retriever's in bin/web.
WIDGET_WASM = GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o bin/web/widget.wasm ./ui/widget
.PHONY: demo-cli bench-site site-deps
demo: build model browser-deps
	$(WIDGET_WASM)
	$(GO) build -o bin/sbmoe-benchsite ./tools/benchsite
	bin/sbmoe-benchsite godoc --out $(DEMO_SITE)
	$(SBMOE) site --site $(DEMO_SITE)
	node tools/browser/check-site.mjs --site $(DEMO_SITE) --screenshot results/site-widget.png $(DEMO_QUERIES)
	@if [ "$(SERVE)" != 0 ]; then $(SBMOE) serve $(DEMO_SITE); fi

# The command-line demo: index the Go standard library's documentation and answer a few
# questions about it in the terminal.
demo-cli: build model
	@mkdir -p out/godoc
	$(SBMOE) corpus godoc --out out/godoc/corpus.jsonl
	@[ out/godoc.idx -nt out/godoc/corpus.jsonl ] || $(SBMOE) index --corpus out/godoc/corpus.jsonl --out out/godoc.idx
	$(SBMOE) search --index out/godoc.idx --corpus out/godoc/corpus.jsonl --k 5 $(DEMO_QUERIES)

# npm pagefind (pinned in tools/benchsite/package-lock.json; its binary ships in the npm
# package for the platform) into the git-ignored out/site-node, beside what browser-deps
# installs: make bench-site needs both.
site-deps: browser-deps
	bash tools/benchsite/install.sh

# sbmoe site against Pagefind on the same site: SciFact's corpus as a static site (one page
# per abstract), both indexes built from nothing (timed, sized), the 300 test queries
# through each one's browser search in one headless Chromium (bytes, times, runs), scored
# with core/metrics; plus the demo queries on the Go documentation site through both.
# Writes results/bench-site.md. The first build encodes SciFact (minutes).
BENCH_SITE := out/bench-site/scifact
bench-site: build model site-deps
	$(WIDGET_WASM)
	$(GO) build -o bin/sbmoe-benchsite ./tools/benchsite
	@mkdir -p out/bench-site results
	bin/sbmoe-benchsite beir --data $(DATA)/scifact --out $(BENCH_SITE)
	bin/sbmoe-benchsite queries --data $(DATA)/scifact --out out/bench-site/queries.json
	bin/sbmoe-benchsite build --site $(BENCH_SITE) --out out/bench-site/build.json
	bin/sbmoe-benchsite godoc --out $(DEMO_SITE)
	$(SBMOE) site --site $(DEMO_SITE) --quiet
	out/site-node/node_modules/.bin/pagefind --site $(DEMO_SITE) --glob "{index.html,pkg/**/*.html}"
	node tools/browser/bench-site.mjs --site $(BENCH_SITE) --queries out/bench-site/queries.json \
		--godoc $(DEMO_SITE) --demo "$$(printf '%s|' $(DEMO_QUERIES) | sed 's/|$$//')" > out/bench-site/runs.json
	bin/sbmoe-benchsite report --data $(DATA)/scifact --site $(BENCH_SITE) --runs out/bench-site/runs.json \
		--build out/bench-site/build.json --out results/bench-site.md
	cat results/bench-site.md

# Zero-shot evaluation of the default model on every shared collection.
eval: build model
	@mkdir -p results
	$(SBMOE) eval --out results/zero-shot.json $(addprefix $(DATA)/,$(DATASETS)) | tee results/zero-shot.md

# What pruning a bundle's vocabulary saves and costs: int8 bundles of scifact and cisi with
# --prune-vocab none, corpus and reachable, their model bytes (raw, Brotli) and NDCG@10 through
# each bundle's own model folder; writes results/prune-vocab.md (tools/scripts/measure-pruning.sh).
.PHONY: measure-pruning
measure-pruning: build model
	SBMOE=$(SBMOE) DATA=$(DATA) bash tools/scripts/measure-pruning.sh

# The int8 encoder against fp32 on every shared collection: sbmoe eval --weights int8 beside
# the fp32 report that make eval writes (results/zero-shot.json), then the lowest cosine of
# int8 to fp32 vectors on the golden texts (go test -run TestInt8Golden -v ./core/bert/);
# writes results/int8.md and results/int8.json. Minutes per collection on 2 cores.
.PHONY: eval-int8
eval-int8: build model
	@mkdir -p results out
	$(SBMOE) eval --quiet --weights int8 --out results/int8.json --compare results/zero-shot.json $(addprefix $(DATA)/,$(DATASETS)) > out/int8-eval.md
	GOEXPERIMENT=simd $(GO) test -count=1 -timeout=40m -run '^TestInt8Golden$$' -v ./core/bert/ > out/int8-golden.txt
	{ printf '# The int8 encoder against fp32 (make eval-int8)\n\n'; \
	  printf 'all-MiniLM-L6-v2, zero-shot, exact search: `sbmoe eval --weights int8 --compare results/zero-shot.json` (fp32: `make eval`). Seconds are wall time on a machine shared with other work, not a speed figure (`make bench` is one).\n\n'; \
	  cat out/int8-eval.md; \
	  printf '\nKernels: %s.\n\nint8 against fp32 vectors on the golden texts (`go test -run TestInt8Golden -v ./core/bert/`):\n\n```\n' \
	    "$$(sed -n 's/.*"kernels": "\(.*\)".*/\1/p' results/int8.json)"; \
	  grep -E '^ *(--- |int8_test\.go)' out/int8-golden.txt; printf '```\n'; } > results/int8.md
	cat results/int8.md

# The SB-MoE experiment: baseline, paper and learned router, 3 seeds, every collection;
# writes results/experiment/{report.md,results.json,experts.png}, then the head-only part
# on SciFact again without the model's Normalize module (the paper's setting) into
# results/experiment/raw. Runs are kept under
# runs/experiment, so an interrupted experiment continues where it stopped. About two
# hours on 2 cores, most of it the full fine-tuning of SciFact.
experiment: model
	GOEXPERIMENT=simd $(GO) build -o bin/sbmoe-experiment ./tools/experiment
	bin/sbmoe-experiment --data $(DATA) --out runs/experiment --report results/experiment
	bin/sbmoe-experiment --data $(DATA) --out runs/experiment --report results/experiment/raw --no-normalize --datasets scifact

# The feedback-simulation study of the product head (identity start, hard negatives,
# validation NDCG, guard): SciFact's learning curve from clicks and label-free adaptation
# of the classic collections, 3 seeds, against zero-shot and the paper's recipe; writes
# results/feedback/{report.md,results.json,curves.png}. Reads and fills the experiment's
# vector cache (runs/experiment/cache) and keeps its runs under runs/feedback, so an
# interrupted study continues.
.PHONY: feedback-study
feedback-study: model
	GOEXPERIMENT=simd $(GO) build -o bin/sbmoe-feedback ./tools/feedbackstudy
	bin/sbmoe-feedback --data $(DATA) --cache runs/experiment/cache --out runs/feedback --report results/feedback

# Encoder throughput (batch 32, 128 and 512 tokens) and one short query's latency (16
# tokens), fp32 and int8, against PyTorch and ONNX Runtime (each with its own dynamic int8),
# same machine, same run.
bench: build model $(PYTHON)
	@mkdir -p results out
	$(SBMOE) bench --json --seq 128,512 --batch 32 --threads 2 --seconds 10 > out/bench.jsonl
	$(SBMOE) bench --json --seq 128,512 --batch 32 --threads 2 --seconds 10 --weights int8 >> out/bench.jsonl
	$(SBMOE) bench --json --seq 16 --batch 1 --threads 2 --seconds 5 >> out/bench.jsonl
	$(SBMOE) bench --json --seq 16 --batch 1 --threads 2 --seconds 5 --weights int8 >> out/bench.jsonl
	$(PYTHON) tools/reference/bench_peers.py --model $(MODEL_DIR) --seq 128,512 --batch 32 --threads 2 --int8 --json >> out/bench.jsonl
	$(PYTHON) tools/reference/bench_peers.py --model $(MODEL_DIR) --seq 16 --batch 1 --threads 2 --int8 --json >> out/bench.jsonl
	$(PYTHON) tools/reference/bench_report.py out/bench.jsonl > results/bench.md
	cat results/bench.md

# Training throughput (one SB-MoE step, 64 pairs of 256 tokens) against PyTorch.
bench-train: build model $(PYTHON)
	@mkdir -p results out
	$(PYTHON) tools/reference/bench_train_peers.py --sbmoe $(SBMOE) --model $(MODEL_DIR) --batch 64 --seq 256 --threads 2 --json > out/bench-train.jsonl
	$(PYTHON) tools/reference/bench_report.py out/bench-train.jsonl > results/bench-train.md
	cat results/bench-train.md

# The edge endpoint under load: the SciFact bundle as a Cloudflare Worker in local workerd
# against the same bundle served natively (cold start, latency at 1, 4 and 16 concurrent,
# CPU per request, the instance's memory against 128 MB); writes results/bench-edge.md.
# The bundle's encoder is int8 (sbmoe bundle's default; the fp32 one does not fit in
# 128 MB): EDGE_BUNDLE_FLAGS adds bundle flags. A second run reuses the bundle's vectors.
EDGE_BUNDLE ?= out/scifact-edge-bundle
EDGE_BUNDLE_FLAGS ?= --weights int8
bench-edge: build model edge-deps
	@mkdir -p results out
	$(SBMOE) bundle --corpus $(DATA)/scifact --out $(EDGE_BUNDLE) --compress=false --demo=false --quiet $(EDGE_BUNDLE_FLAGS)
	$(SBMOE) edge build --bundle $(EDGE_BUNDLE) --out out/scifact-edge
	$(SBMOE) edge bench --queries $(DATA)/scifact/queries.jsonl --out results/bench-edge.md out/scifact-edge
	cat results/bench-edge.md

# The browser retriever against transformers.js in one headless Chromium run (one thread
# each, all-MiniLM-L6-v2): cold start, query latency, documents/s, bytes before the first
# result, renderer memory, head training; fp32 bundle against fp32, int8 bundle against q8.
# Writes results/bench-browser.md. Needs the ONNX export of the peer
# (.venv/bin/python tools/reference/export_onnx.py); a second run reuses the bundles' vectors.
# make browser-parity: the fp32 bundle's top-10 in Chromium against the native CLI on the
# 300 SciFact test queries, and a spot check of the int8 bundle (results/browser-parity.md).
# The recipes are tools/browser/bench.sh.
.PHONY: bench-browser browser-parity browser-bundles
browser-bundles: build model
	DATA=$(DATA) SBMOE=$(SBMOE) bash tools/browser/bench.sh bundles
bench-browser: browser-bundles browser-deps
	DATA=$(DATA) SBMOE=$(SBMOE) GO=$(GO) bash tools/browser/bench.sh bench
browser-parity: browser-bundles browser-deps
	DATA=$(DATA) SBMOE=$(SBMOE) GO=$(GO) bash tools/browser/bench.sh parity

# Where the encoder's time goes: a CPU profile of one forward pass per length.
profile: model
	@mkdir -p results out
	GOEXPERIMENT=simd $(GO) test -run='^$$' -bench=Forward -benchtime=3x -cpuprofile out/forward.prof -o out/bert.test ./core/bert/ | tee out/forward-bench.txt
	{ echo '# CPU profile of BenchmarkForward (make profile)'; echo; echo '```'; grep Benchmark out/forward-bench.txt; echo; \
	  $(GO) tool pprof -top -nodecount=25 out/bert.test out/forward.prof 2>/dev/null; echo '```'; } > results/bench-profile.md
	cat results/bench-profile.md

# Rewrite the golden files from the real frameworks (see testdata/README.md).
reference: model $(PYTHON)
	$(PYTHON) tools/reference/tokenizer_golden.py
	$(PYTHON) tools/reference/weights_fixtures.py
	$(PYTHON) tools/reference/embeddings_golden.py
	$(PYTHON) tools/reference/metrics_golden.py
	$(PYTHON) tools/reference/bert_grad_golden.py
	$(PYTHON) tools/reference/moe_golden.py
	$(PYTHON) tools/reference/train_golden.py
	$(PYTHON) tools/reference/train_e2e_golden.py
	$(PYTHON) tools/reference/stats_golden.py
	$(PYTHON) tools/reference/bm25_golden.py
	$(PYTHON) tools/reference/reference_eval.py $(DATASETS)

.venv/bin/python:
	python3 -m venv .venv
	.venv/bin/pip install --quiet -r tools/reference/requirements.txt

clean:
	rm -rf bin out
