#!/usr/bin/env bash
# tests/cli - the same bytes on every CPU (docs/guide.md, "Reproducibility"):
# a short HelloWorld training run (final weights, optimiser state, test
# predictions from sliding-window inference), `innereye infer` of the trained
# model with overlapping windows and float32 posteriors, and a short
# Fashion-MNIST classifier run (its test predictions) must give the SHA-256
# hashes committed in tests/golden/hashes.txt, on every CPU path this machine
# runs (IE_CPU_PATH=avx512, avx2, generic).  The hashes were written on one
# machine; the test passes on Intel and AMD CPUs, with and without AVX-512,
# or the promise is broken.  After a change that is meant to change the
# arithmetic, rewrite them with
#   tests/cli/test_golden_hashes.sh build/bin/innereye --update
# and say why in the commit.
#   test_golden_hashes.sh INNEREYE [--update]
set -u
innereye=$1
update=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
golden=$here/../golden/hashes.txt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
fm_source=/usr/share/datasets/fashion-mnist

# A small Fashion-MNIST dataset (2-D convolutions, pooling, linear layers).
have_fm=0
if [ -f "$fm_source/t10k-labels-idx1-ubyte.gz" ]; then
  "$innereye" dataset fashion-mnist --out "$out/fm" --train 240 --val 40 --test 80 > "$out/fm.txt" 2>&1 && have_fm=1
fi

# Prints "name sha256" lines for one CPU path.
hashes() { # hashes PATH_NAME
  local p=$1 dir=$out/$1
  mkdir -p "$dir"
  IE_CPU_PATH=$p "$innereye" train --model HelloWorld --output-dir "$dir" --set run.name=seg \
    --set data.synthetic=true --set data.synthetic_subjects=8 --set model.params.features=4 \
    --set model.params.depth=2 --set train.epochs=2 --set data.crop_size=[16,16,16] \
    --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 --threads 2 \
    > "$dir/seg.txt" 2>&1 || { echo "FAIL  HelloWorld training on the $p path:"; tail -5 "$dir/seg.txt"; return 1; }
  local run=$dir/seg
  IE_CPU_PATH=$p "$innereye" infer --run "$run" --image "$run/synthetic_data/synthetic_003_image.nii.gz" \
    --out "$dir/infer" --set infer.overlap=0.75 --set infer.write_posteriors=true \
    --set infer.posterior_dtype=float32 --threads 2 > "$dir/infer.txt" 2>&1 ||
    { echo "FAIL  infer on the $p path:"; tail -5 "$dir/infer.txt"; return 1; }
  echo "helloworld.weights $(sha256sum < "$run/checkpoints/epoch_0002.safetensors" | cut -c1-64)"
  echo "helloworld.optimizer $(sha256sum < "$run/checkpoints/epoch_0002.optimizer.safetensors" | cut -c1-64)"
  echo "helloworld.test_predictions $(cat "$run"/predictions/*.nii.gz | sha256sum | cut -c1-64)"
  echo "helloworld.metrics $(sha256sum < "$run/metrics.csv" | cut -c1-64)"
  echo "infer.posteriors $(cat "$dir"/infer/*/posterior_*.nii.gz | sha256sum | cut -c1-64)"
  echo "infer.segmentation $(sha256sum < "$(ls "$dir"/infer/*/segmentation.nii.gz)" | cut -c1-64)"
  if [ "$have_fm" = 1 ]; then
    IE_CPU_PATH=$p "$innereye" train --config "$here/../../configs/fashion_mnist_quick.json" \
      --set data.dataset_csv="$out/fm/dataset.csv" --set train.epochs=1 --output-dir "$dir" \
      --set run.name=fm --threads 2 > "$dir/fm.txt" 2>&1 ||
      { echo "FAIL  Fashion-MNIST training on the $p path:"; tail -5 "$dir/fm.txt"; return 1; }
    echo "classifier.predictions $(sha256sum < "$dir/fm/predictions.csv" | cut -c1-64)"
    echo "classifier.weights $(sha256sum < "$(ls "$dir"/fm/checkpoints/epoch_0001.safetensors)" | cut -c1-64)"
  fi
}

paths=()
for p in avx512 avx2 generic; do
  if IE_CPU_PATH=$p "$innereye" plugins > /dev/null 2> "$out/probe.txt"; then
    paths+=("$p")
  else
    echo "note: this CPU does not run the $p path ($(head -1 "$out/probe.txt")); not tested here"
  fi
done

if [ "$update" = --update ]; then
  { echo "# SHA-256 of results that must be identical on every x86-64 CPU (tests/cli/test_golden_hashes.sh)."
    echo "# Written by: tests/cli/test_golden_hashes.sh build/bin/innereye --update"
    hashes "${paths[0]}"; } > "$golden.new" && mv "$golden.new" "$golden"
  echo "wrote $golden"
  exit 0
fi

for p in "${paths[@]}"; do
  hashes "$p" > "$out/$p.txt" || { fails=$((fails + 1)); continue; }
  while read -r name want; do
    case "$name" in '#'*|'') continue ;; esac
    got=$(awk -v n="$name" '$1 == n { print $2 }' "$out/$p.txt")
    if [ -z "$got" ] && [ "$have_fm" = 0 ] && [[ $name == classifier.* ]]; then
      echo "skip  $name on $p (dataset-fashion-mnist is not installed)"
    elif [ "$got" = "$want" ]; then
      echo "ok    $name on the $p path"
    else
      echo "FAIL  $name on the $p path: $got, committed $want"
      fails=$((fails + 1))
    fi
  done < "$golden"
done
[ "${#paths[@]}" -gt 0 ] || { echo "FAIL  no CPU path ran"; fails=1; }
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
