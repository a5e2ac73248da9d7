#!/usr/bin/env bash
# tools/docker_check.sh - build the AzureML job images and run them: proves
# that docker/Dockerfile (and every step of docker/Dockerfile.cuda after its
# FROM) builds and that the image runs `innereye selfcheck` and a one-epoch
# HelloWorld training.  Not part of `make test` (Docker is not a dependency of
# the project); run it by hand after changing docker/*, the Makefile's
# PACKAGES or the install rules.  Root, about 10 minutes on 2 cores, ~6 GB of
# disk while it runs, all of it removed at the end.
#
#   sudo tools/docker_check.sh [--pull] [--keep] [cpu] [cuda]
#
# cpu   docker/Dockerfile on Debian 12.
# cuda  docker/Dockerfile.cuda.  Without --pull, on a plain Ubuntu 24.04
#       (NVIDIA's image is Ubuntu 24.04 plus the CUDA toolkit and cuDNN, which
#       this version does not use yet): every step after FROM is checked, the
#       CUDA layers are not.
# --pull  use the published base images (debian:bookworm-slim,
#       nvidia/cuda:...; needs Docker Hub) instead of making the bases with
#       debootstrap from an APT mirror (no Docker Hub needed).
# --keep  keep the images (only with a Docker daemon that was already running).
# Default: cpu cuda.
#
# Needs docker (docker.io) and, without --pull, debootstrap.  Uses the Docker
# daemon at DOCKER_HOST / the default socket when one answers; otherwise starts
# a private dockerd (own data root and socket; no bridge, iptables rules or IP
# forwarding, so the host's network set-up is left as it was) in a
# temporary folder and stops it at the end.  Mirrors (defaults are the
# official ones): DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, UBUNTU_MIRROR,
# UBUNTU_SECURITY_MIRROR.  The build context is the code snapshot that
# `innereye submit azureml` uploads: `git archive HEAD` plus SOURCE_COMMIT
# (so uncommitted changes are not built, as on AzureML).
set -euo pipefail

pull=0 keep=0 targets=()
for a in "$@"; do
  case "$a" in
    --pull) pull=1 ;;
    --keep) keep=1 ;;
    cpu|cuda) targets+=("$a") ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "docker_check: unknown argument '$a' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(cpu cuda)

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
UBUNTU_MIRROR=${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
UBUNTU_SECURITY_MIRROR=${UBUNTU_SECURITY_MIRROR:-http://security.ubuntu.com/ubuntu}

repo=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "== $*"; }
die() { echo "docker_check: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it starts dockerd and runs debootstrap)"
missing=""
command -v docker >/dev/null || missing="$missing docker.io"
[ $pull = 1 ] || command -v debootstrap >/dev/null || missing="$missing debootstrap"
[ -z "$missing" ] || die "missing tools; install them with: apt-get install -y$missing"
git -C "$repo" rev-parse HEAD >/dev/null 2>&1 || die "$repo is not a git checkout"

tmp=$(mktemp -d /tmp/iedock.XXXXXX)
private_pid=""
images=()
cleanup() {
  set +e
  if [ -n "$private_pid" ]; then
    kill "$private_pid" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$private_pid" 2>/dev/null || break; sleep 1; done
  elif [ $keep = 0 ] && [ ${#images[@]} -gt 0 ]; then
    docker rmi -f "${images[@]}" >/dev/null 2>&1
  fi
  # The daemon leaves its network namespace mounted; a mount that will not go
  # must not be deleted through.
  grep " $tmp/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done
  if grep -q " $tmp/" /proc/mounts; then
    echo "docker_check: mounts remain under $tmp; not deleting it" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

# ---- the Docker daemon ----
# The classic builder: it needs no buildx plugin and builds the same Dockerfile
# (set DOCKER_BUILDKIT=1 to use BuildKit instead).
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
if docker info >/dev/null 2>&1; then
  say "using the running Docker daemon ($(docker version -f '{{.Server.Version}}'))"
else
  command -v dockerd >/dev/null || die "no Docker daemon answers and dockerd is not installed (apt-get install -y docker.io)"
  say "starting a private dockerd in $tmp"
  # nice 19: the builds and containers inherit it and yield the CPU to other work.
  nice -n 19 dockerd --data-root "$tmp/root" --exec-root "$tmp/exec" -H "unix://$tmp/docker.sock" \
    --pidfile "$tmp/dockerd.pid" --bridge=none --iptables=false --ip-forward=false >"$tmp/dockerd.log" 2>&1 &
  private_pid=$!
  export DOCKER_HOST=unix://$tmp/docker.sock
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; kill -0 "$private_pid" 2>/dev/null || break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 "$tmp/dockerd.log" >&2; die "dockerd did not start (its log is above)"; }
  say "dockerd $(docker version -f '{{.Server.Version}}'), storage driver $(docker info -f '{{.Driver}}')"
fi

# ---- base images ----
sources_debian() {
  cat <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}
sources_ubuntu() {
  cat <<EOF
Types: deb
URIs: $UBUNTU_MIRROR
Suites: noble noble-updates noble-backports
Components: main universe restricted multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg

Types: deb
URIs: $UBUNTU_SECURITY_MIRROR
Suites: noble-security
Components: main universe restricted multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
EOF
}
# make_base TAG SUITE MIRROR SOURCES_FN SOURCES_FILE: a minimal root file system
# like the official image's (deb822 sources, no package lists), imported as TAG.
make_base() {
  local tag=$1 suite=$2 mirror=$3 fn=$4 file=$5 root=$tmp/rootfs-$2 opts=(--variant=minbase)
  local script=/usr/share/debootstrap/scripts/$suite
  if [ "$suite" = noble ]; then
    [ -e "$script" ] || script=/usr/share/debootstrap/scripts/gutsy # every Ubuntu since 7.10 uses it
    opts+=("--components=main,universe")
    # Debian has no Ubuntu keyring: the base is fetched unchecked, but its
    # ubuntu-keyring then checks everything apt installs inside the image.
    [ -f /usr/share/keyrings/ubuntu-archive-keyring.gpg ] &&
      opts+=(--keyring=/usr/share/keyrings/ubuntu-archive-keyring.gpg) || opts+=(--no-check-gpg)
  fi
  say "debootstrap $suite from $mirror"
  nice -n 19 debootstrap "${opts[@]}" "$suite" "$root" "$mirror" "$script" >"$tmp/debootstrap-$suite.log" 2>&1 ||
    { tail -20 "$tmp/debootstrap-$suite.log" >&2; die "debootstrap $suite failed (log above)"; }
  rm -f "$root/etc/apt/sources.list"
  "$fn" >"$root/etc/apt/sources.list.d/$file"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - "$tag" >/dev/null
  images+=("$tag")
  rm -rf "$root"
}

# ---- the build context: what AzureML gets ----
commit=$(git -C "$repo" rev-parse HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
  echo "docker_check: warning: uncommitted changes in $repo are not in the image (commit them first)" >&2
mkdir "$tmp/code"
git -C "$repo" archive HEAD | tar -x -C "$tmp/code"
echo "$commit" >"$tmp/code/SOURCE_COMMIT"

# check TARGET DOCKERFILE BASE_ARG: build, selfcheck, train; leaves the run in $tmp/run-TARGET.
check() {
  local target=$1 dockerfile=$2 base=$3 tag=innereye-check:$1 t0 t1 args=()
  [ -z "$base" ] || args=(--build-arg "BASE=$base")
  say "build $dockerfile${base:+ with BASE=$base} as $tag"
  t0=$(date +%s)
  nice -n 19 docker build --network host -f "$tmp/code/$dockerfile" "${args[@]}" -t "$tag" "$tmp/code" \
    >"$tmp/build-$target.log" 2>&1 || { tail -40 "$tmp/build-$target.log" >&2; die "building $dockerfile failed (log above)"; }
  images+=("$tag")
  t1=$(date +%s)
  local size
  size=$(docker image inspect -f '{{.Size}}' "$tag")
  say "built in $((t1 - t0)) s; image size $((size / 1000000)) MB"

  say "$tag: innereye selfcheck"
  docker run --rm --network none "$tag" innereye selfcheck >"$tmp/selfcheck-$target.log" 2>&1 ||
    { cat "$tmp/selfcheck-$target.log" >&2; die "selfcheck failed in $tag"; }
  head -1 "$tmp/selfcheck-$target.log"; tail -1 "$tmp/selfcheck-$target.log"
  grep -q 'PASS' "$tmp/selfcheck-$target.log" || die "selfcheck in $tag did not PASS"

  # The source tree is moved away first: the installed innereye must find its
  # models and configs under /opt/innereye alone.  No network: a job needs none.
  say "$tag: innereye train --model HelloWorld --set train.epochs=1"
  mkdir -p "$tmp/run-$target"
  t0=$(date +%s)
  docker run --rm --network none -v "$tmp/run-$target:/work" "$tag" sh -c \
    'mv /src/innereye /src/moved && innereye train --model HelloWorld --set train.epochs=1 --set run.name=check' \
    >"$tmp/train-$target.log" 2>&1 || { cat "$tmp/train-$target.log" >&2; die "training failed in $tag"; }
  t1=$(date +%s)
  tail -2 "$tmp/train-$target.log"
  local run=$tmp/run-$target/outputs/check
  grep -Eq '"status":[[:space:]]*"finished"' "$run/run.json" || die "$run/run.json does not say finished"
  grep -q "\"git_commit\":[[:space:]]*\"$commit (code snapshot)\"" "$run/run.json" ||
    die "run.json does not record the snapshot's commit $commit"
  say "trained in $((t1 - t0)) s (container start included); run.json: finished, commit $commit"
}

for t in "${targets[@]}"; do
  case "$t" in
    cpu)
      base=""
      if [ $pull = 0 ]; then make_base innereye-check-base:bookworm bookworm "$DEBIAN_MIRROR" sources_debian debian.sources
        base=innereye-check-base:bookworm; fi
      check cpu docker/Dockerfile "$base" ;;
    cuda)
      base=""
      if [ $pull = 0 ]; then make_base innereye-check-base:noble noble "$UBUNTU_MIRROR" sources_ubuntu ubuntu.sources
        base=innereye-check-base:noble; fi
      check cuda docker/Dockerfile.cuda "$base" ;;
  esac
done

# Two images built from different distributions (compilers, OpenBLAS, ITK)
# must still train to the same bytes.
if [ -d "$tmp/run-cpu" ] && [ -d "$tmp/run-cuda" ]; then
  say "compare the two runs (innereye compare-runs)"
  docker run --rm --network none -v "$tmp:/c" innereye-check:cpu \
    innereye compare-runs /c/run-cpu/outputs/check /c/run-cuda/outputs/check || die "the two images' runs differ"
fi
say "PASS"
