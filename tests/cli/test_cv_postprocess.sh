#!/usr/bin/env bash
# tests/cli - post-processing chosen by a cross-validation
# (core/experiment/cv_postprocess.h), on a small CV of real hippocampus data:
#   - every fold infers its validation split; postprocessing.csv's Dice
#     values are recomputed independently (nibabel + scipy.ndimage.label) from
#     the folds' val_predictions and the truth, and the choices follow the rule;
#   - ensemble/postprocess.json holds exactly the choices, and cv-aggregate
#     again gives the same table byte for byte (deterministic);
#   - innereye infer on the ensemble applies postprocess.json (a copy of the
#     ensemble told to keep the largest component of every class predicts
#     one component per class), and the ensemble's test predictions obey the
#     chosen removals;
#   - the cross-validation's report shows the table, each number the file's;
#     a fold's report shows its validation split, and a comparison section.
# Skipped (77) without the hippocampus data or nibabel/scipy.
#   test_cv_postprocess.sh INNEREYE SOURCE_DIR
set -u
innereye=$1
src=$2
data=$src/../shared/data/hippocampus
[ -d "$data/images" ] || { echo "skipped: $data is absent"; exit 77; }
/usr/bin/python3 -c "import nibabel, numpy, scipy" 2> /dev/null ||
  { echo "skipped: python3-nibabel, python3-numpy and python3-scipy are not installed (make test-deps)"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$src" || exit 1
fails=0
check() { if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi; }
py=/usr/bin/python3

# 24 subjects: 4 test, 10 validation subjects per fold.
"$innereye" train --model HelloWorld --cv 2 --threads 2 --output-dir "$out" --set run.name=cv \
  --set data.max_subjects=24 --set data.fallback_synthetic=false --set model.params.features=4 \
  --set model.params.depth=2 --set train.epochs=2 --set "data.crop_size=[16,16,16]" --set data.workers=0 \
  > "$out/cv.txt" 2>&1 || { echo "FAIL: cross-validation"; cat "$out/cv.txt"; exit 1; }
cv=$out/cv
check "each fold predicted its validation split" test -d "$cv/fold_0/val_predictions" -a -d "$cv/fold_1/val_predictions"
check "postprocessing.csv: one row per structure" \
  test "$(cut -d, -f1 "$cv/postprocessing.csv" | tr '\n' ' ')" = "Structure anterior posterior "
check "the choice was printed" grep -q "post-processing chosen on the folds' validation predictions" "$out/cv.txt"
check "postprocessing.csv is the rule applied to the folds' files (nibabel + scipy)" $py - "$cv" "$data/labels" <<'PY'
import csv, glob, os, sys
import nibabel as nib
import numpy as np
from scipy import ndimage
cv = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(cv, "postprocessing.csv"))))
classes = [r["Structure"] for r in rows]
subjects = []  # (prediction, truth, voxel mm3), fold by fold, subjects as split.csv lists them
for fold in sorted(glob.glob(os.path.join(cv, "fold_*[0-9]"))):
    for line in open(os.path.join(fold, "split.csv")).read().split("\n")[1:]:
        if not line.endswith(",val"):
            continue
        s = line.split(",")[0]
        p = nib.load(os.path.join(fold, "val_predictions", s + "_segmentation.nii.gz"))
        subjects.append((s, np.asarray(p.dataobj).astype(np.int64), float(np.prod(p.header.get_zooms()[:3]))))
labels_dir = sys.argv[2]
def dice(p, t, c):
    a, b = p == c, t == c
    n = a.sum() + b.sum()
    return 1.0 if n == 0 else 2.0 * (a & b).sum() / n
bad = 0
for k, c in enumerate(classes, start=1):
    truths = [np.asarray(nib.load(os.path.join(labels_dir, s + ".nii.gz")).dataobj).astype(np.int64)
              for s, _, _ in subjects]
    vols = [(t == k).sum() * v for t, (_, _, v) in zip(truths, subjects) if (t == k).any()]
    threshold = min(vols) / 2 if vols else 0.0
    none, largest, small = [], [], []
    for t, (s, p, v) in zip(truths, subjects):
        none.append(dice(p, t, k))
        lab, n = ndimage.label(p == k)  # 6-connectivity, postprocess.connectivity's default
        sizes = np.bincount(lab.ravel())[1:]
        keep_largest = p.copy()
        if n:
            keep_largest[(lab > 0) & (lab != 1 + int(np.argmax(sizes)))] = 0
        largest.append(dice(keep_largest, t, k))
        keep_small = p.copy()
        for i, size in enumerate(sizes, start=1):
            if size * v < threshold:
                keep_small[lab == i] = 0
        small.append(dice(keep_small, t, k))
    want = {"dice_none": np.mean(none), "dice_largest_component": np.mean(largest),
            "dice_small_components": np.mean(small), "small_threshold_mm3": threshold}
    r = rows[k - 1]
    for key, value in want.items():
        ok = abs(float(r[key]) - value) <= 1e-8 * max(1.0, abs(value))  # the file writes %.9g
        bad += not ok
        print(("ok  " if ok else "BAD ") + "%s %s: file %s, recomputed %r" % (c, key, r[key], value))
    best = "none"
    if want["dice_largest_component"] > want["dice_none"]:
        best = "largest_component"
    if threshold > 0 and want["dice_small_components"] > max(want["dice_none"], want["dice_largest_component"]):
        best = "small_components"
    ok = r["chosen"] == best and int(r["subjects"]) == len(subjects)
    bad += not ok
    print(("ok  " if ok else "BAD ") + "%s: chose %s (rule: %s), %s subjects" % (c, r["chosen"], best, r["subjects"]))
sys.exit(1 if bad or not subjects else 0)
PY
check "ensemble/postprocess.json holds the choices" $py - "$cv" <<'PY'
import csv, json, os, sys
cv = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(cv, "postprocessing.csv"))))
post = json.load(open(os.path.join(cv, "ensemble", "postprocess.json")))["postprocess"]
largest = [r["Structure"] for r in rows if r["chosen"] == "largest_component"]
small = ["%s,%s" % (r["Structure"], r["small_threshold_mm3"]) for r in rows if r["chosen"] == "small_components"]
print(post, largest, small)
sys.exit(0 if post["largest_component"] == largest and post["class_min_component_mm3"] == small else 1)
PY
check "the ensemble's test predictions obey the choices" $py - "$cv" <<'PY'
import csv, glob, os, sys
import nibabel as nib
import numpy as np
from scipy import ndimage
cv = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(cv, "postprocessing.csv"))))
files = sorted(glob.glob(os.path.join(cv, "ensemble", "test_predictions", "*", "segmentation.nii.gz")))
bad = 0
for f in files:
    img = nib.load(f)
    p, v = np.asarray(img.dataobj), float(np.prod(img.header.get_zooms()[:3]))
    for k, r in enumerate(rows, start=1):
        lab, n = ndimage.label(p == k)
        sizes = np.bincount(lab.ravel())[1:] * v
        if r["chosen"] == "largest_component" and n > 1:
            bad += 1
            print("BAD %s %s: %d components" % (f, r["Structure"], n))
        if r["chosen"] == "small_components" and (sizes < float(r["small_threshold_mm3"])).any():
            bad += 1
            print("BAD %s %s: a component of %g mm3" % (f, r["Structure"], sizes.min()))
print("%d test predictions checked" % len(files))
sys.exit(1 if bad or not files else 0)
PY
cp "$cv/postprocessing.csv" "$out/postprocessing_first.csv"
"$innereye" cv-aggregate "$cv" > "$out/again.txt" 2>&1
check "cv-aggregate again: the same decision table, byte for byte" cmp -s "$cv/postprocessing.csv" "$out/postprocessing_first.csv"

# innereye infer applies the ensemble's postprocess.json: keep the largest
# component of both classes in a copy and predict one test subject with it.
cp -r "$cv/ensemble" "$out/ens_largest"
rm -rf "$out/ens_largest/test_predictions"
printf '{"postprocess": {"largest_component": ["anterior", "posterior"], "class_min_component_mm3": []}}\n' \
  > "$out/ens_largest/postprocess.json"
subject=$(grep ',test$' "$cv/fold_0/split.csv" | head -1 | cut -d, -f1)
"$innereye" infer --run "$out/ens_largest" --image "$data/images/$subject.nii.gz" --out "$out/infer_largest" \
  > "$out/infer.txt" 2>&1
# Without it the same subject (the ensemble's own test prediction, made with
# the choices above) must have more components in some class, or the check
# could not fail.
check "infer on the ensemble with largest_component in postprocess.json: one component per class" $py - \
  "$out/infer_largest" "$cv/ensemble/test_predictions/$subject/segmentation.nii.gz" "$cv/postprocessing.csv" <<'PY'
import csv, glob, sys
import nibabel as nib
import numpy as np
from scipy import ndimage
files = glob.glob(sys.argv[1] + "/**/segmentation.nii.gz", recursive=True)
count = lambda f: [ndimage.label(np.asarray(nib.load(f).dataobj) == k)[1] for k in (1, 2)]
after, before = (count(files[0]) if files else []), count(sys.argv[2])
chosen = [r["chosen"] for r in csv.DictReader(open(sys.argv[3]))]
print("components per class: with largest_component %s, the ensemble's own (%s) %s" % (after, chosen, before))
sys.exit(0 if files and all(n <= 1 for n in after) and any(n == 1 for n in after) and
         any(b > 1 for b, c in zip(before, chosen) if c != "largest_component") else 1)
PY
printf '{"postprocess": {"class_min_component_mm3": ["nowhere,3"]}}\n' > "$out/ens_largest/postprocess.json"
"$innereye" infer --run "$out/ens_largest" --image "$data/images/$subject.nii.gz" --out "$out/infer_bad" \
  > "$out/infer_bad.txt" 2>&1
check "a postprocess.json naming no class: refused, naming the key" grep -q "class_min_component_mm3\[0\]" "$out/infer_bad.txt"

check "the cross-validation's report shows the table, every number the file's" \
  grep -q 'data-file="postprocessing.csv"' "$cv/report.html"
check "  (check_report.py)" $py "$here/check_report.py" "$cv/report.html" "$cv" "$cv/ensemble"
# A fold's report with a comparison section (the folds share the test set);
# cli_report checks this in depth, but is too long for the sanitizer build.
"$innereye" report "$cv/fold_1" --compare "$cv/fold_0" > "$out/report_compare.txt" 2>&1
check "report fold_1 --compare fold_0: validation and test splits and the comparison, every number the files'" \
  $py "$here/check_report.py" "$cv/fold_1/report.html" "$cv/fold_1"
check "  with the comparison section" grep -q 'id="compare"' "$cv/fold_1/report.html"
echo "$fails failures"
exit $fails
