#!/usr/bin/env bash
# tests/cli - fingerprint -> plan -> train on real hippocampus cases
# (docs/planning.md): the fingerprint is the same bytes for 1 and 2 threads
# and reports progress in plain lines when not on a terminal; the plan is a
# config `innereye train` runs; bad inputs are refused with the file and
# field named and a non-zero exit, leaving no output behind.  Exits 77
# (skipped) without ../shared/data.
#   test_plan.sh INNEREYE HIPPOCAMPUS_DIR
set -u
innereye=$1
[ -d "$2/images" ] || { echo "skipped: $2 not found"; exit 77; }
data=$(cd "$2" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}

mkdir -p "$out/images" "$out/labels"
for f in $(ls "$data/labels" | head -12); do
  ln -s "$data/images/$f" "$out/images/"
  ln -s "$data/labels/$f" "$out/labels/"
done
"$innereye" dataset create --images "$out/images" --labels "$out/labels" --out "$out/dataset.csv" > /dev/null

"$innereye" dataset fingerprint --dataset "$out/dataset.csv" --out "$out/fp1.json" --threads 1 > /dev/null 2> "$out/fp1.err"
rc=$?; cat "$out/fp1.err" | grep -v "^fingerprint: "; (exit $rc)
check "fingerprint on 1 thread succeeds" test $? -eq 0
check "... printing progress as plain lines" grep -qx "fingerprint: 12/12 cases" "$out/fp1.err"
"$innereye" dataset fingerprint --dataset "$out/dataset.csv" --out "$out/fp2.json" --threads 2 --quiet > /dev/null 2> "$out/fp2.err"
check "fingerprint on 2 threads succeeds, quietly" test $? -eq 0 -a ! -s "$out/fp2.err"
check "... with the same bytes" cmp -s "$out/fp1.json" "$out/fp2.json"
check "... 12 cases, MR, 3 classes" python3 -c "
import json, sys
d = json.load(open('$out/fp1.json'))
assert len(d['cases']) == 12 and d['summary']['classes'] == 3, d['summary']
assert d['channels'] == [{'name': 'image', 'modality': 'MR'}], d['channels']
assert d['summary']['orientations'] == {'RAS': 12}, d['summary']['orientations']
assert [c['flagged'] for c in d['checks'] if c['check'] == 'anisotropy'] == [False]
"
# The class layout against nibabel + numpy: each case's centroids, the
# summary's order counts, and the plan's mirroring rule restated (no flip
# along an axis where the classes keep one order in >= 95% of >= 10 cases).
check "... class centroids and order as numpy finds them" /usr/bin/python3 -c "
import json, nibabel as nib, numpy as np
d = json.load(open('$out/fp1.json'))
after, before = np.zeros(3), np.zeros(3)
for c in d['cases']:
    lab = np.asarray(nib.load('$out/labels/' + c['subject'] + '.nii.gz').dataobj)  # x, y, z
    cent = [np.argwhere(lab == k).mean(0) for k in (1, 2)]
    for k in (1, 2):
        assert np.allclose(c['class_centroids_xyz'][k], cent[k - 1], rtol=0, atol=1e-9), (c['subject'], k)
    after += cent[1] > cent[0]
    before += cent[1] < cent[0]
o = d['summary']['class_order']
assert len(o) == 1 and o[0]['classes'] == [1, 2] and o[0]['cases'] == 12, o
assert o[0]['b_after_a_xyz'] == list(after) and o[0]['b_before_a_xyz'] == list(before), (o, after, before)
json.dump([a for a in range(3) if max(after[2 - a], before[2 - a]) < 0.95 * 12], open('$out/flips.json', 'w'))
"

"$innereye" plan "$out/fp1.json" --memory 8000 --time-budget 30 --classes background,anterior,posterior \
  --out "$out/plan.json" > /dev/null
check "plan succeeds" test $? -eq 0
# The plan records its fingerprint's path, so the 2-thread one takes the same name.
cp "$out/fp2.json" "$out/fp1.json"
"$innereye" plan "$out/fp1.json" --memory 8000 --time-budget 30 --classes background,anterior,posterior \
  --out "$out/plan2.json" > /dev/null
check "... the same plan from the 2-thread fingerprint" cmp -s "$out/plan.json" "$out/plan2.json"
check "... 1 mm, SimpleNorm, isotropic pooling" python3 -c "
import json
p = json.load(open('$out/plan.json'))
assert p['data']['target_spacing'] == [1, 1, 1], p['data']['target_spacing']
assert p['data']['normalization'] == 'SimpleNorm'
d = p['model']['params']['depth']
assert p['model']['params']['pool_axes'] == [d, d, d]
assert 'train.epochs' in p['plan']['why'] and 'data.crop_size' in p['plan']['why']
assert p['data']['flip_axes'] == json.load(open('$out/flips.json')), (p['data']['flip_axes'], p['plan']['why']['data.flip_axes'])
"
# --gflops measure: the measured figure is printed and recorded, and giving it
# as --gflops N plans the same config (only plan.why/inputs say where it came from).
"$innereye" plan "$out/fp1.json" --memory 8000 --time-budget 30 --classes background,anterior,posterior \
  --gflops measure --threads 1 --out "$out/plan_measured.json" > /dev/null 2> "$out/measure.err"
check "plan --gflops measure succeeds" test $? -eq 0
measured=$(sed -n 's/^innereye plan: measured \([0-9.e+]*\) GFLOP\/s .*/\1/p' "$out/measure.err")
check "... printing the measured GFLOP/s" test -n "$measured"
"$innereye" plan "$out/fp1.json" --memory 8000 --time-budget 30 --classes background,anterior,posterior \
  --gflops "${measured:-1}" --out "$out/plan_given.json" > /dev/null
check "... which --gflops N turns into the same plan" python3 -c "
import json
m, g = json.load(open('$out/plan_measured.json')), json.load(open('$out/plan_given.json'))
assert m['plan']['inputs']['gflops'] == float('${measured:-0}'), m['plan']['inputs']
assert m['plan']['inputs']['gflops_from'] == 'measured' and g['plan']['inputs']['gflops_from'] == '--gflops'
assert 'measured on this machine' in m['plan']['why']['train.epochs'], m['plan']['why']['train.epochs']
m.pop('plan'); g.pop('plan')
assert m == g
"
check "... and the default plan says the default" python3 -c "
import json
p = json.load(open('$out/plan.json'))
assert p['plan']['inputs']['gflops_from'] == 'default' and p['plan']['inputs']['gflops'] == 140, p['plan']['inputs']
"
"$innereye" plan "$out/fp1.json" --memory 8000 --time-budget 30 --device gpu --gflops measure \
  --out "$out/bad_plan.json" 2> "$out/bad.err"
check "--gflops measure on a GPU plan is refused (exit 2), writing nothing" test $? -eq 2 -a ! -e "$out/bad_plan.json"

"$innereye" train --config "$out/plan.json" --set train.epochs=1 --set output.dir="$out/runs" --threads 2 \
  > "$out/train.txt" 2>&1
check "innereye train runs the plan" test $? -eq 0
check "... and tests the held-out cases" grep -q "dice anterior" "$out/train.txt"

# Refusals: the file and the field named, exit 1, nothing written.
echo '{"format": "innereye-fingerprint-1", "channels": []}' > "$out/bad.json"
"$innereye" plan "$out/bad.json" --memory 8000 --time-budget 30 --out "$out/bad_plan.json" 2> "$out/bad.err"
check "a fingerprint without cases is refused (exit 1)" test $? -eq 1
check "... naming the file and the field" grep -q "bad.json: cases is missing or empty" "$out/bad.err"
check "... writing nothing" test ! -e "$out/bad_plan.json"
"$innereye" plan "$out/fp1.json" --time-budget 30 --out "$out/bad_plan.json" 2> "$out/bad.err"
check "a plan without --memory is refused (exit 2)" test $? -eq 2
"$innereye" plan "$out/fp1.json" --memory 8000 --time-budget 30 --classes a,b --out "$out/bad_plan.json" 2> "$out/bad.err"
check "two class names for three classes are refused" grep -q "hold 3 classes (0..2) but --classes names 2" "$out/bad.err"
grep -v ",label$" "$out/dataset.csv" > "$out/nolabel.csv"
"$innereye" dataset fingerprint --dataset "$out/nolabel.csv" --out "$out/bad_fp.json" 2> "$out/bad.err"
check "a dataset without label maps is refused (exit 1)" test $? -eq 1
check "... naming the CSV, subject and channel" grep -q "nolabel.csv: subject 'hippocampus_001' has no row with channel 'label'" "$out/bad.err"
check "... writing nothing" test ! -e "$out/bad_fp.json"

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
exit $((fails > 0))
