# InnerEye-C: the two commands of the README.
#   make run   - install missing Debian packages, build, run the main job
#   make test  - the same set-up, then the whole test suite (ctest)
BUILD ?= build
JOBS ?= $(shell nproc)
# Build and runtime dependencies (Debian 12 package names); dataset-fashion-mnist
# holds the images of the classification tests and configs/fashion_mnist.json;
# libcurl sends metrics to an MLflow tracking server (docs/cluster.md);
# DCMTK writes and reads DICOM-RT structure sets and DICOM-SEG (core/dicom);
# libmicrohttpd and libzip: innereye serve (core/serve).
# Open MPI runs data-parallel training (core/dist, docs/distributed.md; its
# module libinnereye_mpi.so is built against libopenmpi-dev, mpirun is in
# openmpi-bin).
PACKAGES := build-essential cmake pkg-config libopenblas-dev libcjson-dev libinsighttoolkit5-dev zlib1g-dev libpng-dev libcurl4-openssl-dev libdcmtk-dev libmicrohttpd-dev libzip-dev dataset-fashion-mnist openmpi-bin libopenmpi-dev
# Needed only to regenerate golden fixtures (PyTorch; nibabel and pydicom for the
# image IO fixtures; scipy for the segmentation metrics and post-processing
# fixtures; scikit-learn for the classification metrics) and run the PyTorch
# side of benchmarks.
REFERENCE_PACKAGES := python3-torch python3-numpy python3-nibabel python3-pydicom python3-scipy python3-sklearn
# Needed only by the export tests (tests/cli/test_export_onnx.sh): the ONNX
# checker; ONNX Runtime for Node (npm onnxruntime-node) is installed with the
# npm of Node.js into $(BUILD)/onnxruntime (make export-test-deps); without
# them those tests are skipped (exit 77).
EXPORT_TEST_PACKAGES := python3-onnx
ORT_NODE_VERSION ?= 1.31.1
# Needed only by the Slurm integration test (tests/cli/test_slurm.sh), which
# starts its own single-node Slurm, by the report test (tests/cli/
# test_report.sh: the page rendered in headless Chromium, compare checked
# against scipy; `script` of bsdutils drives tests/cli/test_progress.sh) and
# by the DICOM test (tests/cli/test_dicom.sh: dciodvfy validates the DICOM-RT
# and DICOM-SEG outputs, pydicom and nibabel write the test series and read
# the outputs back; curl drives tests/cli/test_serve.sh); without them (not
# root) those tests are skipped.
TEST_PACKAGES := slurm-wlm munge chromium bsdutils python3-numpy python3-scipy python3-pil dicom3tools python3-pydicom python3-nibabel curl
# make test-sanitize (CI runs it before `make test`): the unit and CLI tests
# built with ASan + UBSan (+ LeakSanitizer) in SANITIZE_BUILD; any report
# fails (tests/sanitize/run.sh).  -O1 keeps the build and the training tests
# fast enough for CI.
SANITIZE_BUILD ?= build-sanitize
SANITIZE_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# Left out under the sanitizers (ctest -E), each 2 to 10 minutes there and
# covering no code that the tests kept do not also run:
#   hippocampus_quick, cli_fashion_mnist_quick, sdk_unetr_example: train to an
#     accuracy target on real data (long trainings of the paths
#     cli_hello_world and cli_classification run briefly; sdk_package builds
#     and trains a plugin through the installed SDK);
#   cli_slurm: a real Slurm whose polling timeouts an instrumented job
#     overruns (cli_submit runs the same scripts through fake sbatch/squeue);
#   cli_convert_checkpoint: time spent in Python/PyTorch, not in C
#     (test_convert_unet3d checks the converted weights in C);
#   cli_report: seven trainings (segmentation, classification, regression,
#     a cross-validation with its ensemble, a sweep), over 10 minutes
#     instrumented; every CLI test that trains writes report.html through the
#     same code, and test_wilcoxon / test_report_overlay run its parts;
#   sdk_unetr_example: a transformer trained to a Dice target (minutes of
#     CPU time; the same SDK ops run instrumented in test_sdkops);
#   doc_*: the documented commands, some thirty trainings (cross-validation,
#     sweep, repro-check); they check the docs, not the C code, whose paths
#     the CLI tests kept run.
#   cli_distributed: 20 trainings on up to 3 processes, each about 87 s
#     instrumented here (20+ minutes).  Its cut-down part,
#     cli_distributed_quick (four one-step trainings on 1 and 2 processes,
#     plain and with synchronised batch norm), runs instrumented instead;
#     Open MPI's own leaks are suppressed (tests/sanitize/lsan.supp, with the
#     settings the script makes under the sanitizers; docs/testing.md), and
#     test_dist_tree, test_dist_buckets and test_sync_norm run the code too.
SANITIZE_EXCLUDE ?= ^(hippocampus_quick|cli_fashion_mnist_quick|sdk_unetr_example|cli_slurm|cli_convert_checkpoint|cli_report|cli_distributed|doc_.*)$$
# Needed only by `make fuzz` (libFuzzer, with clang's ASan and UBSan runtimes).
FUZZ_PACKAGES := clang-14 libclang-rt-14-dev

# make fuzz: the harnesses of tests/fuzz built with libFuzzer + ASan + UBSan
# in FUZZ_BUILD, then each run for FUZZ_SECONDS (or FUZZ_RUNS executions,
# whichever first; 0: no such limit), one at a time (docs/testing.md).
# FUZZ_HARNESSES picks some: make fuzz FUZZ_HARNESSES="config cli".
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 0
FUZZ_HARNESSES ?=
# (clang's -Wno-unknown-pragmas for the kernels' `#pragma GCC ivdep` is set in
# CMakeLists.txt, after -Wall.)
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all
# The ITK wrapper (C++) is compiled by g++: Debian's ITK headers refuse clang.
# Its sanitizer calls resolve to clang's runtime in the fuzzer (no vptr check:
# that part of the runtime is not linked into a C program).
FUZZ_CXX_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all

.PHONY: all run test deps test-deps build reference-deps fixtures bench clean fuzz fuzz-deps fuzz-build test-sanitize \
	export-test-deps

all: build

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing missing packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	  else \
	    echo "Missing system packages. Run as root:"; \
	    echo "  sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The main job: train and evaluate the HelloWorld model (real hippocampus MRI
# from ../shared/data when present, generated volumes otherwise).
run: build
	$(BUILD)/bin/innereye train --model HelloWorld

test: build test-deps export-test-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-deps:
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deps PACKAGES="$(TEST_PACKAGES)"; \
	else missing=""; for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; [ -z "$$missing" ] || echo "Not root: the Slurm, report, progress or DICOM tests will be skipped (sudo apt-get install -y$$missing)"; fi

reference-deps:
	@$(MAKE) --no-print-directory deps PACKAGES="$(REFERENCE_PACKAGES)"

# ONNX Runtime for the export tests only, never a dependency of the product.
# Its install script would fetch CUDA binaries from nuget.org: skipped (the
# CPU build is in the npm package itself).
# A failure here only makes the export tests skip, so `make test` goes on.
export-test-deps:
	-@$(MAKE) --no-print-directory deps PACKAGES="$(EXPORT_TEST_PACKAGES)"
	@if [ -d $(BUILD)/onnxruntime/node_modules/onnxruntime-node ]; then :; \
	elif ! command -v npm > /dev/null; then echo "npm not found: the ONNX Runtime export tests will be skipped"; \
	else mkdir -p $(BUILD)/onnxruntime && cd $(BUILD)/onnxruntime && ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
	  npm install --no-audit --no-fund --no-save onnxruntime-node@$(ORT_NODE_VERSION) || \
	  echo "npm install onnxruntime-node failed: the ONNX Runtime export tests will be skipped"; fi

# Rebuilds tests/reference/fixtures from PyTorch (not needed for `make test`).
fixtures: reference-deps
	/usr/bin/python3 tests/reference/generate.py

bench: build reference-deps
	tools/bench/unet3d_cpu.sh

$(SANITIZE_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Debug -DIE_CUDA=OFF \
	  -DCMAKE_C_FLAGS="$(SANITIZE_FLAGS)" -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"

test-sanitize: deps test-deps $(SANITIZE_BUILD)/CMakeCache.txt
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	tests/sanitize/run.sh $(SANITIZE_BUILD) $(JOBS) $(if $(SANITIZE_EXCLUDE),-E '$(SANITIZE_EXCLUDE)')

fuzz-deps: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(FUZZ_PACKAGES)"

$(FUZZ_BUILD)/CMakeCache.txt: | fuzz-deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DIE_FUZZ=ON -DIE_CUDA=OFF -DBUILD_TESTING=OFF \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=g++ \
	  -DCMAKE_C_FLAGS="$(FUZZ_FLAGS)" -DCMAKE_CXX_FLAGS="$(FUZZ_CXX_FLAGS)"

# Only the library and the fuzzers (not the models, tools or tests).
fuzz-build: fuzz-deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(foreach h,$(or $(FUZZ_HARNESSES),config cli dataset_csv scalar_csv safetensors run_json image_header),fuzz_$(h))

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_RUNS) $(FUZZ_HARNESSES)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(SANITIZE_BUILD)
