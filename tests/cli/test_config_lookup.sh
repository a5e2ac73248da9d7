#!/usr/bin/env bash
# tests/cli - configs and data as a newcomer meets them outside the
# repository: --config NAME.json and --config configs/NAME.json find the
# installed configs as `extends` does; a missing data folder replaced by
# generated volumes is announced loudly; a resumed run never switches to
# generated volumes.
#   test_config_lookup.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir "$out/elsewhere" && cd "$out/elsewhere"
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--output-dir "$out/o" --set data.synthetic_subjects=6 --set model.params.features=4
      --set model.params.depth=2 --set data.crop_size=[16,16,16] --set train.epochs=1 --threads 2)

"$innereye" train --config hello_world.json "${tiny[@]}" --set data.synthetic=true --set run.name=by_name > a.txt 2>&1
check "--config hello_world.json works outside the repository" test $? -eq 0
"$innereye" train --config configs/hello_world.json "${tiny[@]}" --set data.synthetic=true --set run.name=by_path \
  > b.txt 2>&1
check "--config configs/hello_world.json works outside the repository" test $? -eq 0
check "  with the model the config names" grep -q '"name":[[:space:]]*"HelloWorld"' "$out/o/by_path/config.resolved.json"
"$innereye" train --config nothere.json "${tiny[@]}" > c.txt 2>&1
check "a config found nowhere: exit 2" test $? -eq 2
check "  the message names the file and the installed configs looked in" \
  grep -Eq "cannot open nothere.json: No such file.*looked in the installed configs too: .*/nothere.json" c.txt

# hello_world.json's data folder is ../shared/data/..., which is not here.
"$innereye" train --model HelloWorld "${tiny[@]}" --set run.name=fallback > d.txt 2>&1
check "the HelloWorld model trains on generated volumes when its data is missing" test $? -eq 0
check "  and says so loudly on stderr" \
  grep -q "^warning: data.images_dir ../shared/data/hippocampus/images does not exist, so this run trains" d.txt
check "  and records it in run.json" grep -q "GENERATED volumes" "$out/o/fallback/run.json"

# A run on a real images folder, stopped after epoch 1; the folder goes away.
mkdir -p data/images data/labels
for i in 0 1 2 3 4 5; do
  cp "$out/o/by_name/synthetic_data/synthetic_00${i}_image.nii.gz" data/images/s$i.nii.gz
  cp "$out/o/by_name/synthetic_data/synthetic_00${i}_label.nii.gz" data/labels/s$i.nii.gz
done
"$innereye" train --model HelloWorld "${tiny[@]}" --set train.epochs=2 --set data.images_dir=data/images \
  --set data.labels_dir=data/labels --set run.name=real --stop-after-epochs 1 > e.txt 2>&1
check "a run on an images folder stops after epoch 1" grep -q '"status":[[:space:]]*"running"\|stopped' e.txt "$out/o/real/run.json"
mv data gone
"$innereye" train --resume "$out/o/real" > f.txt 2>&1
check "its resume without the folder fails on the missing file, never trains on generated volumes" \
  bash -c "! grep -q GENERATED f.txt && ! test -e '$out/o/real/synthetic_data' && grep -q 'data/images/s0.nii.gz (listed in .*dataset.csv), does not exist' f.txt"
mv gone data
"$innereye" train --resume "$out/o/real" > g.txt 2>&1
check "with the folder back, the resume finishes" test $? -eq 0

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
