#!/usr/bin/env bash
# tests/cli - `innereye export --format bundle` and `innereye infer --bundle`:
# the bundle of a run and of an ensemble gives the same bytes as `infer
# --run` (segmentation files; a classifier's predictions.csv when
# dataset-fashion-mnist is installed); a damaged bundle is refused naming
# what is wrong (the file whose contents changed, a truncation, not a
# bundle), with exit 2 and nothing written; no temporary folder is left.
#   test_export_bundle.sh INNEREYE SOURCE_DIR
set -u
innereye=$1
src=$2
out=$(mktemp -d)
export TMPDIR=$out/tmp
mkdir -p "$TMPDIR"
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
refused() { # refused DESCRIPTION EXIT EXPECTED-TEXT innereye-args...
  "$innereye" "${@:4}" > "$out/refused.txt" 2>&1
  local rc=$?
  if [ $rc -eq "$2" ] && grep -qF -- "$3" "$out/refused.txt"; then echo "ok    $1"
  else echo "FAIL  $1 (exit $rc)"; cat "$out/refused.txt"; fails=$((fails + 1)); fi
}
same_files() { # same_files DIR_A DIR_B: every file of A in B, byte for byte
  local f n=0
  for f in "$1"/*; do cmp -s "$f" "$2/$(basename "$f")" || return 1; n=$((n + 1)); done
  [ $n -gt 0 ]
}
synthetic=(--output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=6 --set train.epochs=1
           --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 --threads 2
           --set model.params.features=4 --set model.params.depth=2 --set data.crop_size=[16,16,16])
"$innereye" train --model UNet3D "${synthetic[@]}" --set run.name=a > "$out/a.txt" 2>&1 || { cat "$out/a.txt"; exit 1; }
"$innereye" train --model UNet3D "${synthetic[@]}" --set run.name=b --set seed=5 > "$out/b.txt" 2>&1 ||
  { cat "$out/b.txt"; exit 1; }
a=$(ls -d "$out"/a*/ | head -1)
b=$(ls -d "$out"/b*/ | head -1)
img=$(ls "$a"/synthetic/*image*.nii.gz 2>/dev/null | head -1)
[ -n "$img" ] || img=$(find "$a" -name '*.nii.gz' | grep -v -e label -e predictions | head -1)
post=(--set infer.write_posteriors=true --set infer.posterior_dtype=float32)

check "export --format bundle of a run" "$innereye" export --run "$a" --format bundle --out "$out/a.bundle"
"$innereye" infer --run "$a" --image "$img" --subject s --out "$out/run" "${post[@]}" > /dev/null 2>&1
"$innereye" infer --bundle "$out/a.bundle" --image "$img" --subject s --out "$out/bundle/" "${post[@]}" \
  > "$out/infer_bundle.txt" 2>&1
check "infer --bundle writes the same bytes as infer --run (segmentation, posteriors)" \
  same_files "$out/run/s" "$out/bundle/s"
check "... naming the bundle file (not its temporary folder), 1 member" \
  grep -qx "model UNet3D [0-9.]*, the 1 member of $out/a.bundle" "$out/infer_bundle.txt"
check "... and --out bundle/ gives paths without '//'" \
  bash -c "grep -q -- '-> $out/bundle/s ' '$out/infer_bundle.txt' && ! grep -q '//' '$out/infer_bundle.txt'"

"$innereye" ensemble --runs "$a" "$b" --out "$out/ens" > /dev/null 2>&1
check "export --format bundle of an ensemble" "$innereye" export --run "$out/ens" --format bundle --out "$out/e.bundle"
"$innereye" infer --run "$out/ens" --image "$img" --subject s --out "$out/erun" "${post[@]}" > /dev/null 2>&1
"$innereye" infer --bundle "$out/e.bundle" --image "$img" --subject s --out "$out/ebundle" "${post[@]}" > /dev/null 2>&1
check "infer --bundle of an ensemble writes the same bytes as infer --run" same_files "$out/erun/s" "$out/ebundle/s"

# ---- damage: named, exit 2, nothing written ----
size=$(stat -c %s "$out/a.bundle")
cp "$out/a.bundle" "$out/flip.bundle"   # a byte inside the weights (the last file, before the final SHA-256)
printf '\xff' | dd of="$out/flip.bundle" bs=1 seek=$((size - 32 - 200)) conv=notrunc status=none
refused "a changed byte in the weights is named" 2 "the contents of members/0/weights.safetensors do not match" \
  infer --bundle "$out/flip.bundle" --image "$img" --out "$out/x"
head -c $((size / 2)) "$out/a.bundle" > "$out/cut.bundle"
refused "a truncated bundle" 2 "is damaged: truncated" infer --bundle "$out/cut.bundle" --image "$img" --out "$out/x"
cp "$out/a.bundle" "$out/tail.bundle"
printf '\x00' | dd of="$out/tail.bundle" bs=1 seek=$((size - 1)) conv=notrunc status=none
refused "a changed final checksum" 2 "final SHA-256 does not match" \
  infer --bundle "$out/tail.bundle" --image "$img" --out "$out/x"
refused "a file that is not a bundle" 2 "is not an InnerEye bundle" infer --bundle "$img" --image "$img" --out "$out/x"
refused "a missing bundle" 2 "--bundle $out/none.bundle" infer --bundle "$out/none.bundle" --image "$img" --out "$out/x"
refused "--bundle with --run" 2 "--bundle replaces --run" infer --bundle "$out/a.bundle" --run "$a" --image "$img" \
  --out "$out/x"
check "nothing written by the refusals" test ! -e "$out/x"
echo keep > "$out/kept.bundle"
refused "export never replaces a file" 2 "already exists" export --run "$a" --format bundle --out "$out/kept.bundle"
check "  ... which is left as it was" grep -qx keep "$out/kept.bundle"
refused "--set does not go with a bundle" 2 "--set does not go with --format bundle" \
  export --run "$a" --format bundle --out "$out/y.bundle" --set seed=1
check "no temporary folder is left behind" test -z "$(ls -A "$TMPDIR")"

# ---- a classifier: predictions.csv byte for byte ----
if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  "$innereye" dataset fashion-mnist --out "$out/fm" --train 100 --val 20 --test 20 > /dev/null 2>&1
  "$innereye" train --config "$src/configs/fashion_mnist_quick.json" --set data.dataset_csv="$out/fm/dataset.csv" \
    --output-dir "$out" --set run.name=cls --set train.epochs=1 --threads 2 > "$out/c.txt" 2>&1 ||
    { cat "$out/c.txt"; exit 1; }
  cls=$(ls -d "$out"/cls*/ | head -1)
  check "export --format bundle of a classification run" \
    "$innereye" export --run "$cls" --format bundle --out "$out/c.bundle"
  "$innereye" infer --run "$cls" --dataset "$out/fm/dataset.csv" --out "$out/crun" > /dev/null 2>&1
  "$innereye" infer --bundle "$out/c.bundle" --dataset "$out/fm/dataset.csv" --out "$out/cbundle" > /dev/null 2>&1
  check "classifier: infer --bundle writes the same predictions.csv and metrics.csv" \
    bash -c "cmp '$out/crun/predictions.csv' '$out/cbundle/predictions.csv' && cmp '$out/crun/metrics.csv' '$out/cbundle/metrics.csv'"
else
  echo "skipped: the classifier part (apt-get install dataset-fashion-mnist)"
fi

[ $fails -eq 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
