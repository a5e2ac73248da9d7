#!/usr/bin/env bash
# tests/cli - Fashion-MNIST, the quick variant (configs/fashion_mnist_quick.json):
# `innereye dataset fashion-mnist` writes 8 000 of Debian's images as PNG
# plus a dataset CSV (5 000 train, 1 000 val, 2 000 test), the small CNN
# trains for 4 epochs, and its accuracy on the 2 000 held-out test images
# must reach 0.80.  Skipped (77) without the dataset-fashion-mnist package.
#   test_fashion_mnist_quick.sh INNEREYE CONFIG_DIR
set -u
innereye=$1
configs=$2
source_dir=/usr/share/datasets/fashion-mnist
if [ ! -f "$source_dir/t10k-labels-idx1-ubyte.gz" ]; then
  echo "skipped: $source_dir is missing (apt-get install dataset-fashion-mnist)"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}

"$innereye" dataset fashion-mnist --out "$out/fm" --train 6000 --val 1000 --test 2000 > "$out/dataset.txt" 2>&1
check "innereye dataset fashion-mnist succeeds" test $? -eq 0
check "dataset.csv lists 8000 images with class and split" \
  test "$(grep -c '^train_[0-9]*,train/[0-9]*\.png,[0-9],[^,]*,\(train\|val\)$\|^test_[0-9]*,test/[0-9]*\.png,[0-9],[^,]*,test$' "$out/fm/dataset.csv")" -eq 8000
check "the images are 28 x 28 grey PNGs" \
  bash -c "head -c 24 '$out/fm/test/01999.png' | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a0000000d494844520000001c0000001c'"
"$innereye" dataset fashion-mnist --out "$out/fm" --train 10 --val 0 --test 10 > "$out/again.txt" 2>&1
check "an existing dataset folder is refused" grep -q "already exists; remove it or choose another --out (nothing was written)" "$out/again.txt"

"$innereye" train --config "$configs/fashion_mnist_quick.json" --set data.dataset_csv="$out/fm/dataset.csv" \
  --output-dir "$out" --set run.name=quick --threads 2 > "$out/train.txt" 2>&1
check "training succeeds" test $? -eq 0
acc=$(awk -F, '$1 == "test" && $3 == "(multiclass)" && $4 == "accuracy" { print $5 }' "$out/quick/metrics.csv")
check "test accuracy $acc >= 0.80 on 2000 held-out images" awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 0.80) }'
check "split.csv keeps the dataset's split" test "$(grep -c ',test$' "$out/quick/split.csv")" -eq 2000
check "confusion_matrix.csv has every cell of the 10 classes" \
  test "$(grep -c '^test,4,' "$out/quick/confusion_matrix.csv")" -eq 100
check "train_log.csv logs the validation accuracy" grep -q "val_accuracy" "$out/quick/train_log.csv"

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; tail -30 "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all Fashion-MNIST checks passed"
