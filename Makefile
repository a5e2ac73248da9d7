# InnerEye-C: the two commands of the README.
#   make run   - install missing Debian packages, build, run the main job
#   make test  - the same set-up, then the whole test suite (ctest)
BUILD ?= build
JOBS ?= $(shell nproc)
# Build and runtime dependencies (Debian 12 package names); dataset-fashion-mnist
# holds the images of the classification tests and configs/fashion_mnist.json;
# libcurl sends metrics to an MLflow tracking server (docs/cluster.md).
PACKAGES := build-essential cmake pkg-config libopenblas-dev libcjson-dev libinsighttoolkit5-dev zlib1g-dev libcurl4-openssl-dev dataset-fashion-mnist
# Needed only to regenerate golden fixtures (PyTorch; nibabel and pydicom for the
# image IO fixtures; scipy for the segmentation metrics and post-processing
# fixtures; scikit-learn for the classification metrics) and run the PyTorch
# side of benchmarks.
REFERENCE_PACKAGES := python3-torch python3-numpy python3-nibabel python3-pydicom python3-scipy python3-sklearn
# Needed only by the Slurm integration test (tests/cli/test_slurm.sh), which
# starts its own single-node Slurm; without them (not root) it is skipped.
TEST_PACKAGES := slurm-wlm munge

.PHONY: all run test deps test-deps build reference-deps fixtures bench clean

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

test: build test-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-deps:
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deps PACKAGES="$(TEST_PACKAGES)"; \
	else missing=""; for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; [ -z "$$missing" ] || echo "Not root: the Slurm integration test will be skipped (sudo apt-get install -y$$missing)"; fi

reference-deps:
	@$(MAKE) --no-print-directory deps PACKAGES="$(REFERENCE_PACKAGES)"

# Rebuilds tests/reference/fixtures from PyTorch (not needed for `make test`).
fixtures: reference-deps
	/usr/bin/python3 tests/reference/generate.py

bench: build reference-deps
	tools/bench/unet3d_cpu.sh

clean:
	rm -rf $(BUILD)
