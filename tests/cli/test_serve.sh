#!/usr/bin/env bash
# tests/cli - `innereye serve` end to end with curl on the loopback
# (docs/deploy.md, "Serving over HTTP"), on a run trained for one epoch on
# generated volumes:
#   health and model answer (the model's SHA-256 is that of its weights file);
#   4 concurrent segmentations give the same bytes as `innereye infer`;
#   a zip of a DICOM series gives a DICOM-SEG and an RTSTRUCT that dciodvfy
#     finds valid, that match infer's segmentation of the same series (pydicom,
#     tests/dicom/check_dicom.py), and that equal infer's own DICOM files but
#     for the UIDs and times every new object gets;
#   bad uploads (not an image, truncated, 4-D, path traversal in a zip, too
#     large, a zip bomb, a gzip bomb, an unknown format) get 4xx with a message
#     and the server goes on answering;
#   a full queue gives 503, a missing or wrong token 401; a stalled upload
#     loses its slot after --timeout;
#   one log line per request; SIGTERM stops it with exit 0;
#   --bundle serves the same model.
#   test_serve.sh INNEREYE SOURCE_DIR DATA_DIR [PYTHON]
# Skipped (exit 77) without curl, ../shared/data, pydicom + nibabel or dciodvfy.
set -u
innereye=$1
src=$2
data=$3
python=${4:-/usr/bin/python3}
command -v curl > /dev/null || { echo "skipped: needs curl (make test-deps)"; exit 77; }
[ -d "$data/hippocampus" ] || { echo "skipped: no $data"; exit 77; }
"$python" -c "import pydicom, nibabel" 2>/dev/null || { echo "skipped: needs python3-pydicom and python3-nibabel"; exit 77; }
command -v dciodvfy > /dev/null || { echo "skipped: needs dciodvfy (Debian dicom3tools; make test-deps)"; exit 77; }
out=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null && wait "$server_pid" 2> /dev/null
  rm -rf "$out"
}
trap cleanup EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}

"$innereye" train --model HelloWorld --output-dir "$out" --set run.name=run --set data.synthetic=true \
  --set data.synthetic_subjects=6 --set model.params.features=4 --set model.params.depth=2 --set train.epochs=1 \
  --set data.crop_size=[16,16,16] --set data.split.train=0.5 --set data.split.val=0.17 --set data.split.test=0.33 \
  > "$out/train.txt" 2>&1
check "a one-epoch run trains" test $? -eq 0
run=$out/run
images=$run/synthetic_data
"$innereye" infer --run "$run" --dataset "$images/dataset.csv" --out "$out/ref" > "$out/ref.txt" 2>&1
check "innereye infer segments every subject (the reference)" test $? -eq 0
subjects=$(ls "$out/ref")

# The DICOM series of a real MR case, and infer's answers for it.
"$python" "$src/tests/dicom/gen_dicom_cases.py" "$data" "$out/dicom" hippocampus_001 > "$out/gen.txt" 2>&1
check "the DICOM series is written" test $? -eq 0
series=$out/dicom/hippocampus_001_axial/series
for format in rtstruct dicom-seg; do
  "$innereye" infer --run "$run" --image "$series" --subject case --format $format --out "$out/ref_$format" \
    > "$out/ref_dicom.txt" 2>&1
  check "innereye infer --format $format on the series (the reference)" test $? -eq 0
done
(cd "$series" && "$python" -c "
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir('.')):
        z.write(name, 'ct/' + name)" "$out/series.zip")

# ---- the server (its work folders go to TMPDIR)
export TMPDIR=$out/tmp
mkdir "$TMPDIR"
tok=$out/token
echo "s3cret-token" > "$tok"
chmod 600 "$tok"
start_server() { # start_server LOG ARGS...: sets server_pid and base
  local log=$1
  shift
  "$innereye" serve --port 0 "$@" > "$log.out" 2> "$log.err" &
  server_pid=$!
  base=
  for _ in $(seq 1 200); do
    base=$(sed -n 's|^listening on \(http://.*\)$|\1|p' "$log.out")
    [ -n "$base" ] && return 0
    kill -0 "$server_pid" 2> /dev/null || break
    sleep 0.1
  done
  cat "$log.out" "$log.err"
  return 1
}
stop_server() { # stop_server: SIGTERM, returns its exit status
  kill -TERM "$server_pid"
  wait "$server_pid"
  local rc=$?
  server_pid=
  return $rc
}
auth=(-H "Authorization: Bearer s3cret-token")
# status URL [CURL ARGS...]: prints the HTTP status; the body goes to $out/body
status() { curl -s -o "$out/body" -w '%{http_code}' "${@:2}" "$base$1"; }
post() { status "/v1/segment$1" "${auth[@]}" --data-binary "@$2" "${@:3}"; }

start_server "$out/serve" --run "$run" --queue 4 --max-upload-mb 1 --max-image-mb 16 --timeout 20 --token-file "$tok"
check "the server starts and says where it listens" test -n "$base"
case "$base" in http://127.0.0.1:*) listen_ok=0 ;; *) listen_ok=1 ;; esac
check "... on 127.0.0.1 by default" test $listen_ok -eq 0

check "GET /v1/health: 200" test "$(status /v1/health)" = 200
check "... says ok" grep -q '"status":"ok"' "$out/body"
check "GET /v1/model without a token: 401" test "$(status /v1/model)" = 401
check "... says how to give it" grep -q 'Authorization: Bearer' "$out/body"
check "GET /v1/model with a wrong token: 401" test "$(status /v1/model -H 'Authorization: Bearer wrong')" = 401
check "POST /v1/segment without a token: 401" \
  test "$(status /v1/segment --data-binary "@$images/$(ls "$images" | grep -m1 _image)")" = 401
check "GET /v1/model with the token: 200" test "$(status /v1/model "${auth[@]}")" = 200
weights_sha=$(sha256sum "$run/checkpoints/epoch_0001.safetensors" | cut -d' ' -f1)
check "the model's weights_sha256 is the SHA-256 of its weights file" \
  grep -q "\"weights_sha256\":\"$weights_sha\"" "$out/body"
check "the model lists its classes" grep -q '"classes":\["background","anterior","posterior"\]' "$out/body"
check "the model has a name and a version" grep -Eq '"name":"[^"]+".*"version":"[^"]+"' "$out/body"

# 4 at once, each the bytes infer wrote.
pids=()
for s in $(echo "$subjects" | head -4); do
  curl -s -o "$out/got_$s.nii.gz" -w '%{http_code}' "${auth[@]}" --data-binary "@$images/${s}_image.nii.gz" \
    "$base/v1/segment" > "$out/code_$s" &
  pids+=($!)
done
wait "${pids[@]}"
for s in $(echo "$subjects" | head -4); do
  check "concurrent request for $s: 200" test "$(cat "$out/code_$s")" = 200
  check "... the same bytes as innereye infer" cmp -s "$out/got_$s.nii.gz" "$out/ref/$s/segmentation.nii.gz"
done
s=$(echo "$subjects" | head -1)
gunzip -c "$images/${s}_image.nii.gz" > "$out/plain.nii"
check "an uncompressed .nii: 200" test "$(post "" "$out/plain.nii")" = 200
check "... the same bytes as infer on the .nii.gz" cmp -s "$out/body" "$out/ref/$s/segmentation.nii.gz"

# DICOM in, NIfTI / DICOM-SEG / RTSTRUCT out.
check "a zip of a DICOM series: 200" test "$(post "" "$out/series.zip")" = 200
check "... the same NIfTI bytes as infer on the series" cmp -s "$out/body" "$out/ref_rtstruct/case/segmentation.nii.gz"
check "?format=dicom-seg: 200" test "$(post "?format=dicom-seg" "$out/series.zip")" = 200
cp "$out/body" "$out/seg.dcm"
check "?format=rtstruct: 200" test "$(post "?format=rtstruct" "$out/series.zip")" = 200
cp "$out/body" "$out/rt.dcm"
dicom_valid() { # dicom_valid FILE: dciodvfy reports no error
  dciodvfy "$1" > "$out/dciodvfy.txt" 2>&1
  ! grep -q "^Error" "$out/dciodvfy.txt" || { cat "$out/dciodvfy.txt"; return 1; }
}
pycheck() { "$python" "$src/tests/dicom/check_dicom.py" "$@" > "$out/check.txt" 2>&1 || { cat "$out/check.txt"; return 1; }; }
check "dciodvfy finds no error in the DICOM-SEG" dicom_valid "$out/seg.dcm"
check "dciodvfy finds no error in the RTSTRUCT" dicom_valid "$out/rt.dcm"
check "the DICOM-SEG rebuilds infer's segmentation exactly" pycheck seg "$out/seg.dcm" "$series" \
  "$out/ref_rtstruct/case/segmentation.nii.gz" anterior,posterior
check "the RTSTRUCT's contours fill to infer's segmentation (Dice >= 0.99)" pycheck rtstruct "$out/rt.dcm" \
  "$series" "$out/ref_rtstruct/case/segmentation.nii.gz" anterior,posterior 0.99
# Equal to infer's files element by element, but for what each new DICOM
# object gets afresh: its own UIDs and creation dates and times.
same_dicom() {
  "$python" - "$1" "$2" << 'EOF'
import sys, pydicom
fresh = {"SOPInstanceUID", "SeriesInstanceUID", "MediaStorageSOPInstanceUID", "DimensionOrganizationUID"}
def flat(ds, prefix=""):
    out = {}
    for e in ds:
        key = prefix + e.keyword
        if e.VR in ("DA", "TM", "DT") or e.keyword in fresh:
            continue
        if e.VR == "SQ":
            for i, item in enumerate(e.value):
                out.update(flat(item, "%s[%d]." % (key, i)))
        else:
            out[key] = e.value
    return out
a, b = (pydicom.dcmread(f) for f in sys.argv[1:3])
fa, fb = flat(a), flat(b)
diff = sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
print("differences:", diff[:10]) if diff else None
sys.exit(1 if diff else 0)
EOF
}
check "the DICOM-SEG equals infer --format dicom-seg's, UIDs and times aside" \
  same_dicom "$out/seg.dcm" "$out/ref_dicom-seg/case/segmentation.dcm"
check "the RTSTRUCT equals infer --format rtstruct's, UIDs and times aside" \
  same_dicom "$out/rt.dcm" "$out/ref_rtstruct/case/rtstruct.dcm"

# ---- bad uploads: 4xx with a message, and the server keeps answering
refused() { # refused DESCRIPTION CODE REGEX URL_SUFFIX FILE
  local code
  code=$(post "$4" "$5")
  check "$1: $2" test "$code" = "$2"
  check "$1: says '$3'" grep -Eq -- "$3" "$out/body"
  [ "$code" = "$2" ] && grep -Eq -- "$3" "$out/body" || cat "$out/body"
  check "$1: the server still answers" test "$(status /v1/health)" = 200
}
echo "hello, this is not an image" > "$out/text.txt"
refused "a text file" 415 "not an image this server reads" "" "$out/text.txt"
head -c 3000 "$images/${s}_image.nii.gz" > "$out/truncated.nii.gz"
refused "a truncated .nii.gz" 400 "truncated" "" "$out/truncated.nii.gz"
"$python" -c "
import nibabel as nib, numpy as np, sys
nib.save(nib.Nifti1Image(np.zeros((8, 8, 8, 2), np.float32), np.eye(4)), sys.argv[1])" "$out/two_channels.nii.gz"
refused "a 4-D image (two channels)" 400 "image cannot be read" "" "$out/two_channels.nii.gz"
"$python" -c "
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('ct/ok.dcm', b'x')
    z.writestr('../../evil.dcm', b'x')" "$out/traversal.zip"
refused "a zip entry named ../../evil.dcm" 400 "zip entry '../../evil.dcm' is refused" "" "$out/traversal.zip"
check "... nothing was written outside" test ! -e "$out/evil.dcm" -a ! -e "$TMPDIR/evil.dcm"
head -c 1500000 /dev/urandom > "$out/big.bin"
refused "an upload over --max-upload-mb 1" 413 "more than --max-upload-mb" "" "$out/big.bin"
"$python" -c "
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('ct/bomb.dcm', bytes(64 << 20))" "$out/bomb.zip"
check "the zip bomb is small" test "$(stat -c %s "$out/bomb.zip")" -lt 1000000
refused "a zip bomb (64 MB of zeros)" 413 "zip.*more than 16 MB" "" "$out/bomb.zip"
"$python" -c "
import gzip, nibabel as nib, numpy as np, sys
img = nib.Nifti1Image(np.zeros((8, 8, 8), np.float32), np.eye(4))
with gzip.open(sys.argv[1], 'wb') as f:
    f.write(img.header.binaryblock + bytes(4) + bytes(64 << 20))" "$out/bomb.nii.gz"
refused "a gzip bomb" 413 "gzip stream decompresses to more than 16 MB" "" "$out/bomb.nii.gz"
refused "format=rtstruct for a NIfTI" 400 "send a zip of a DICOM series" "?format=rtstruct" "$images/${s}_image.nii.gz"
refused "format=png" 400 "format=png is not known" "?format=png" "$images/${s}_image.nii.gz"
check "an unknown endpoint: 404" test "$(status /v2/nothing "${auth[@]}")" = 404

# ---- a full queue: --queue 4 connections hold their slots while their
# uploads are unfinished; the fifth request is refused at once.
hold() { # hold FD: a POST whose body never completes
  eval "exec $1<>/dev/tcp/127.0.0.1/${base##*:}"
  printf 'POST /v1/segment HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\nContent-Length: 1000\r\n\r\nabc' >&"$1"
}
for fd in 5 6 7 8; do hold $fd; done
for _ in $(seq 1 50); do
  status /v1/health > /dev/null
  grep -q '"requests":4' "$out/body" && break
  sleep 0.1
done
check "4 unfinished uploads hold the 4 slots" grep -q '"requests":4' "$out/body"
check "a fifth request: 503" test "$(post "" "$images/${s}_image.nii.gz")" = 503
check "... says the server is busy" grep -q "the server is busy" "$out/body"
for fd in 5 6 7 8; do eval "exec $fd>&-"; done
code=
for _ in $(seq 1 50); do
  code=$(post "" "$images/${s}_image.nii.gz")
  [ "$code" = 200 ] && break
  sleep 0.1
done
check "the slots come back when those clients hang up; then 200" test "$code" = 200
check "... with the same bytes as before" cmp -s "$out/body" "$out/ref/$s/segmentation.nii.gz"

stop_server
check "SIGTERM stops the server with exit 0" test $? -eq 0
check "... and it says so" grep -q "^stopped" "$out/serve.out"
log_line='^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z 127\.0\.0\.1 POST /v1/segment\?format=nifti 200 in=[0-9]+ out=[0-9]+ [0-9.]+s model='$weights_sha'$'
check "a log line per request: time, client, endpoint, status, bytes, seconds, model SHA-256" \
  grep -Eq "$log_line" "$out/serve.err"
check "... one per segmentation answered (9 here)" \
  test "$(grep -Ec ' POST /v1/segment\?format=[a-z-]+ 200 .* model=' "$out/serve.err")" -eq 9
any_line='^20[0-9-]{8}T[0-9:.]{12}Z 127\.0\.0\.1 (GET|POST) /[^ ]* [0-9]{1,3} in=[0-9]+ out=[0-9]+ [0-9.]+s model='$weights_sha
check "... and every other request has one too (refusals, hang-ups)" \
  test "$(grep -Ec "$any_line" "$out/serve.err")" -ge 38
grep -E "$any_line" "$out/serve.err" | grep -Ev ' 200 ' | sed 's/^/      log: /' | head -30

# ---- --bundle: the same model from one file
"$innereye" export --run "$run" --format bundle --out "$out/model.bundle" > "$out/export.txt" 2>&1
check "export --format bundle" test $? -eq 0
start_server "$out/bundle" --bundle "$out/model.bundle" --queue 1 --timeout 2
check "serve --bundle starts (no token)" test -n "$base"
check "... naming the bundle file it was given (not its temporary folder), 1 member" \
  grep -qx "model [A-Za-z0-9]* [0-9.]*, the 1 member of $out/model.bundle" "$out/bundle.out"
# A stalled upload holds the one slot only until --timeout 2 closes it.
hold 5
for _ in $(seq 1 50); do
  status /v1/health > /dev/null
  grep -q '"requests":1' "$out/body" && break
  sleep 0.1
done
check "a stalled upload holds the one slot: 503" test "$(post "" "$images/${s}_image.nii.gz")" = 503
sleep 3
check "after --timeout 2 s the server has closed it: 200" test "$(post "" "$images/${s}_image.nii.gz")" = 200
exec 5>&-
check "GET /v1/model: 200 without a token" test "$(status /v1/model)" = 200
check "... the same weights SHA-256" grep -q "\"weights_sha256\":\"$weights_sha\"" "$out/body"
check "a segmentation from the bundle: the same bytes as infer" \
  bash -c "[ \"\$(curl -s -o '$out/b.nii.gz' -w '%{http_code}' --data-binary @'$images/${s}_image.nii.gz' \
    '$base/v1/segment')\" = 200 ] && cmp -s '$out/b.nii.gz' '$out/ref/$s/segmentation.nii.gz'"
stop_server
check "SIGTERM stops the bundle server with exit 0" test $? -eq 0
check "no work folder or unpacked bundle is left in TMPDIR" test -z "$(ls -A "$TMPDIR")"

# ---- refusals at start
"$innereye" serve --run "$out/nowhere" > "$out/bad.txt" 2>&1
check "a missing run: exit 2" test $? -eq 2
check "... says so" grep -q "is not a run folder" "$out/bad.txt"
"$innereye" serve --run "$run" --port 99999 > "$out/bad.txt" 2>&1
check "a bad port: exit 2" test $? -eq 2
check "... names the option" grep -q -- "--port needs a whole number" "$out/bad.txt"
: > "$out/empty_token"
"$innereye" serve --run "$run" --token-file "$out/empty_token" > "$out/bad.txt" 2>&1
check "an empty token file: exit 2" test $? -eq 2

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
