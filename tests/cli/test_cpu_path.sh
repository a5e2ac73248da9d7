#!/usr/bin/env bash
# tests/cli - the CPU path and BLAS choice, as a user sees them: a bad
# IE_CPU_PATH is refused before any work with the reason and exit 2; run.json
# records the path the run used (machine.cpu_path) and whether OpenBLAS
# computed its convolutions (machine.blas, run.blas = openblas, documented as
# CPU-dependent), and the OpenBLAS run still trains.
#   test_cpu_path.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--model HelloWorld --output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=6
      --set model.params.features=4 --set model.params.depth=2 --set train.epochs=1 --set data.crop_size=[16,16,16]
      --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 --threads 2)

IE_CPU_PATH=avx1024 "$innereye" train "${tiny[@]}" --set run.name=bad > "$out/bad.txt" 2>&1
code=$?
check "IE_CPU_PATH=avx1024 exits 2" test "$code" -eq 2
check "and says which paths exist" grep -q "unknown CPU path 'avx1024' (use avx512, avx2, generic or auto)" "$out/bad.txt"
check "and leaves no run folder" test ! -e "$out/bad"

IE_CPU_PATH=generic "$innereye" train "${tiny[@]}" --set run.name=generic > "$out/generic.txt" 2>&1
check "a run on the generic path succeeds" test $? -eq 0
check "run.json records the generic path and no BLAS" \
  grep -Eq '"cpu_path":[[:space:]]*"generic"' "$out/generic/run.json"
check "run.json says no BLAS computed results" grep -Eq '"blas":[[:space:]]*"none"' "$out/generic/run.json"

"$innereye" train "${tiny[@]}" --set run.name=blas --set run.blas=openblas > "$out/blas.txt" 2>&1
check "a run with run.blas = openblas succeeds" test $? -eq 0
check "run.json says OpenBLAS computed its convolutions" \
  grep -q '"blas":[[:space:]]*"openblas (results depend on the CPU model)"' "$out/blas/run.json"

"$innereye" train "${tiny[@]}" --set run.name=badblas --set run.blas=mkl > "$out/badblas.txt" 2>&1
check "run.blas = mkl is refused" test $? -ne 0
check "naming the key and the choices" grep -q "run.blas" "$out/badblas.txt"
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
