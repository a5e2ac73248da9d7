#!/usr/bin/env bash
# tests/cli - what `innereye serve` takes beyond one image per request
# (docs/deploy.md, "Several channels, masks" and "Classification and
# regression models"), each answer checked against `innereye infer` on the
# same run and files:
#   a two-channel segmentation run with a mask channel (data.mask_channel
#     roi): multipart fields named by channel plus the mask give the bytes
#     of infer --image --image --mask; the fields' order does not matter;
#   a one-channel run: the field "mask" is infer --mask, the field "image"
#     the plain body;
#   classification and regression runs (tests/cli/tabular_dataset.sh) and
#     an ensemble of two: values as fields give JSON whose predictions are,
#     digit for digit, infer's predictions.csv for the same subjects, with
#     the run's folder moved away right after the server started (it is
#     read once) and a subject asked again after others (same answer);
#   refusals with 400 and a message: a missing channel, an unknown field, a
#     value for a file, a field given twice, a plain body for a two-channel
#     model, a malformed multipart body;
#   a body over --max-upload-mb sent without Content-Length (chunked): 413
#     with a message, nothing past the limit kept, also for a client that
#     sends on without reading; the server goes on.
#   test_serve_inputs.sh INNEREYE SOURCE_DIR
# Skipped (exit 77) without curl.
set -u
innereye=$1
src=$2
command -v curl > /dev/null || { echo "skipped: needs curl (make test-deps)"; exit 77; }
out=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null && wait "$server_pid" 2> /dev/null
  rm -rf "$out"
}
trap cleanup EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); return 1; fi
}
differ() { ! cmp -s "$1" "$2"; }
export TMPDIR=$out/tmp
mkdir "$TMPDIR"
start_server() { # start_server NAME ARGS...: sets server_pid and base
  local log=$out/$1
  shift
  "$innereye" serve --port 0 "$@" > "$log.out" 2> "$log.err" &
  server_pid=$!
  base=
  for _ in $(seq 1 300); do
    base=$(sed -n 's|^listening on \(http://.*\)$|\1|p' "$log.out")
    [ -n "$base" ] && return 0
    kill -0 "$server_pid" 2> /dev/null || break
    sleep 0.1
  done
  cat "$log.out" "$log.err"
  return 1
}
stop_server() { # SIGTERM; returns the exit status (a server not gone in 30 s is killed: status 99)
  kill -TERM "$server_pid"
  for _ in $(seq 1 300); do
    kill -0 "$server_pid" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2> /dev/null; then
    echo "the server did not stop within 30 s of SIGTERM; killed"
    kill -KILL "$server_pid"
    wait "$server_pid"
    server_pid=
    return 99
  fi
  wait "$server_pid"
  local rc=$?
  server_pid=
  return $rc
}
# post ARGS...: POST /v1/segment with curl ARGS; prints the status, the body goes to $out/body
# (each curl gives up after 60 s, so that a hang is a failure with a name)
post() { curl -s --max-time 60 -o "$out/body" -w '%{http_code}' "$@" "$base/v1/segment"; }
refused() { # refused DESCRIPTION CODE REGEX CURL_ARGS...
  local code
  code=$(post "${@:4}")
  check "$1: $2" test "$code" = "$2"
  check "$1: says '$3'" grep -Eq -- "$3" "$out/body"
  [ "$code" = "$2" ] && grep -Eq -- "$3" "$out/body" || cat "$out/body"
}

# ---- segmentation: a one-channel run on generated volumes, and a
# two-channel run with a mask channel on the same volumes (channel t2 is the
# label map, roi the label map too: any volume on the grid will do).
"$innereye" train --model HelloWorld --output-dir "$out" --set run.name=one --set data.synthetic=true \
  --set data.synthetic_subjects=4 --set model.params.features=4 --set model.params.depth=2 --set train.epochs=1 \
  --set data.crop_size=[16,16,16] --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 \
  > "$out/train_one.txt" 2>&1
check "a one-channel run trains" test $? -eq 0
images=$out/one/synthetic_data
awk -F, 'NR == 1 { print; next } $3 == "image" { print $1 "," $2 ",t1" }
         $3 == "label" { print; print $1 "," $2 ",t2"; print $1 "," $2 ",roi" }' \
  "$images/dataset.csv" > "$images/two.csv"
"$innereye" train --model HelloWorld --output-dir "$out" --set run.name=two --set data.dataset_csv="$images/two.csv" \
  --set 'data.image_channels=["t1","t2"]' --set data.mask_channel=roi --set model.params.in_channels=2 \
  --set model.params.features=4 --set model.params.depth=2 --set train.epochs=1 --set data.crop_size=[16,16,16] \
  --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 > "$out/train_two.txt" 2>&1
check "a two-channel run with data.mask_channel roi trains" test $? -eq 0 || cat "$out/train_two.txt"
s=synthetic_000
img=$images/${s}_image.nii.gz
lab=$images/${s}_label.nii.gz
"$innereye" infer --run "$out/two" --image "$img" --image "$lab" --mask "$lab" --subject $s --out "$out/ref_two" > "$out/ref.txt" 2>&1
check "infer --image t1 --image t2 --mask (the reference)" test $? -eq 0 || cat "$out/ref.txt"
"$innereye" infer --run "$out/one" --image "$img" --mask "$lab" --subject $s --out "$out/ref_mask" > "$out/ref.txt" 2>&1
check "infer --mask on the one-channel run (the reference)" test $? -eq 0 || cat "$out/ref.txt"
"$innereye" infer --run "$out/one" --image "$img" --subject $s --out "$out/ref_one" > "$out/ref.txt" 2>&1
check "infer on the one-channel run (the reference)" test $? -eq 0
check "the mask changes infer's answer (else its test proves nothing)" \
  differ "$out/ref_mask/$s/segmentation.nii.gz" "$out/ref_one/$s/segmentation.nii.gz"

start_server two --run "$out/two" --queue 2 --max-upload-mb 1 --timeout 20
check "the two-channel run is served" test -n "$base"
curl -s --max-time 60 "$base/v1/model" > "$out/model.json"
check "GET /v1/model lists its channels and mask field" \
  grep -q '"image_channels":\["t1","t2"\],"mask":"roi"' "$out/model.json"
check "t1, t2 and roi as fields: 200" test "$(post -F "t1=@$img" -F "t2=@$lab" -F "roi=@$lab")" = 200
check "... the bytes of infer --image --image --mask" cmp -s "$out/body" "$out/ref_two/$s/segmentation.nii.gz"
check "the fields in another order: 200" test "$(post -F "roi=@$lab" -F "t2=@$lab" -F "t1=@$img")" = 200
check "... the same bytes" cmp -s "$out/body" "$out/ref_two/$s/segmentation.nii.gz"
refused "t2 missing" 400 "the image channel 't2' is missing: the model's fields are t1, t2" -F "t1=@$img"
refused "an unknown field" 400 "the multipart field 'flair' is not one this model takes" \
  -F "t1=@$img" -F "t2=@$lab" -F "flair=@$img"
refused "a value for an image" 400 "'t2' must be a file" -F "t1=@$img" -F "t2=hello"
refused "a field given twice" 400 "the multipart field 't1' is given twice" -F "t1=@$img" -F "t1=@$img"
code=$(curl -s --max-time 60 -o "$out/body" -w '%{http_code}' -F "t1=@$img" -F "t2=@$lab" "$base/v1/segment?format=rtstruct")
check "format=rtstruct with a NIfTI first channel: 400" test "$code" = 400
check "... says the first channel must be a DICOM zip" grep -q "first image channel ('t1'): send it as a zip" "$out/body"
refused "one plain body for two channels" 400 "the model takes 2 image channels: send them as multipart" \
  --data-binary "@$img"
printf -- '--XyZ\r\nContent-Disposition: form-data; name="t1"; filename="a.nii.gz"\r\n\r\nabc' > "$out/cut.txt"
refused "a multipart body without its closing boundary" 400 "malformed" \
  -H "Content-Type: multipart/form-data; boundary=XyZ" --data-binary "@$out/cut.txt"
head -c 1500000 /dev/urandom > "$out/big.bin"
refused "1.5 MB chunked (no Content-Length) over --max-upload-mb 1" 413 \
  "larger than --max-upload-mb 1 allows \(refused after [0-9]+ bytes; it was sent without a Content-Length\)" \
  -H "Transfer-Encoding: chunked" --data-binary "@$out/big.bin"
refused "1.5 MB chunked as a multipart field" 413 "larger than --max-upload-mb 1" \
  -H "Transfer-Encoding: chunked" -F "t1=@$out/big.bin"
# A client that sends without reading (the server discards the rest for at
# most 2 s so that the answer is not lost to a reset connection).
exec 5<> "/dev/tcp/127.0.0.1/${base##*:}"
(printf 'POST /v1/segment HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n' 4000000
 head -c 4000000 /dev/zero) >&5 2> /dev/null
timeout 10 cat <&5 > "$out/raw.txt"
exec 5>&-
check "4 MB chunked from a client that does not read: 413 all the same" grep -q "^HTTP/1.1 413" "$out/raw.txt"
check "the server still segments after these" test "$(post -F "t1=@$img" -F "t2=@$lab" -F "roi=@$lab")" = 200
stop_server
check "SIGTERM stops it: exit 0" test $? -eq 0
# The log's in= is what was read of each body: never past the 1 MiB limit.
read_past=$(awk '/ 413 in=/ { sub("in=", "", $6); if ($6 > 1048576) print }' "$out/two.err")
check "the 413 log lines say at most 1048576 bytes were read" \
  test "$(grep -c ' 413 in=' "$out/two.err")" -eq 3 -a -z "$read_past"

start_server one --run "$out/one" --timeout 20
check "the one-channel run is served" test -n "$base"
check "the field image: 200" test "$(post -F "image=@$img")" = 200
check "... the bytes of the plain body's answer (infer's)" cmp -s "$out/body" "$out/ref_one/$s/segmentation.nii.gz"
check "image and the field mask: 200" test "$(post -F "image=@$img" -F "mask=@$lab")" = 200
check "... the bytes of infer --mask" cmp -s "$out/body" "$out/ref_mask/$s/segmentation.nii.gz"
check "the plain body again (the mask was this request's only): 200" test "$(post --data-binary "@$img")" = 200
check "... infer's bytes without a mask" cmp -s "$out/body" "$out/ref_one/$s/segmentation.nii.gz"
stop_server

# ---- classification and regression: tabular runs (numerical and
# categorical columns); the JSON's predictions are infer's text.
bash "$src/tests/cli/tabular_dataset.sh" "$out" 48 5 3
for kind in binary regression; do
  "$innereye" train --config "$out/$kind.json" --output-dir "$out" --set run.name=$kind --threads 2 \
    > "$out/train_$kind.txt" 2>&1
  check "a $kind run trains" test $? -eq 0 || tail -5 "$out/train_$kind.txt"
  "$innereye" infer --run "$out/$kind" --dataset "$out/tabular.csv" --out "$out/inf_$kind" > "$out/inf.txt" 2>&1
  check "infer on its CSV (the reference)" test $? -eq 0 || cat "$out/inf.txt"
  start_server $kind --run "$out/$kind" --timeout 20
  check "the $kind run is served" test -n "$base"
  # The run is read once, at the start: moved away, it cannot be read per request.
  mv "$out/$kind" "$out/$kind.away"
  curl -s --max-time 60 "$base/v1/model" > "$out/model.json"
  task=classification
  [ $kind = regression ] && task=regression
  check "GET /v1/model says its task, target, outputs and columns" grep -Eq \
    "\"task\":\"$task\",\"target\":\"$kind\",\"outputs\":\[\"(sick|volume)\"\],\"members\":1,.*\"value_columns\":\[\"age\",\"bmi\",\"site\",\"sex\"\]" \
    "$out/model.json" || cat "$out/model.json"
  # s001 twice: what came between changes nothing.
  for subject in s001 s017 s040 s001; do
    IFS=, read -r _ age bmi site sex _ < <(grep "^$subject," "$out/tabular.csv")
    code=$(post -F "age=$age" -F "bmi=$bmi" -F "site=$site" -F "sex=$sex")
    want=$(awk -F, -v s=$subject '$1 == s { printf "%s{\"target\":\"%s\",\"prediction\":%s}", n++ ? "," : "", $2, $4 }' \
      "$out/inf_$kind/predictions.csv")
    check "$kind $subject: 200" test "$code" = 200
    check "... infer's predictions, digit for digit" test "$(cat "$out/body")" = "{\"predictions\":[$want]}"
  done
  refused "$kind: an unknown column" 400 "'weight' is not a column this model takes; its columns are age \(a value\)" \
    -F age=50 -F weight=80
  refused "$kind: a category training never saw" 400 "site" -F age=50 -F bmi=20 -F site=Z -F sex=F
  refused "$kind: a file for a value" 400 "'age' must be a value" -F "age=@$img"
  stop_server
  check "SIGTERM stops it: exit 0" test $? -eq 0
  mv "$out/$kind.away" "$out/$kind"
done
# An ensemble of two binary runs (seeds differ): every member is opened at
# the start; each answer is infer's mean on the ensemble.
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=binary2 --set seed=5 --threads 2 \
  > "$out/train_binary2.txt" 2>&1
check "a second binary run trains" test $? -eq 0
"$innereye" ensemble --runs "$out/binary" "$out/binary2" --out "$out/ens" > "$out/ens.txt" 2>&1
check "the two make an ensemble" test $? -eq 0 || cat "$out/ens.txt"
"$innereye" infer --run "$out/ens" --dataset "$out/tabular.csv" --out "$out/inf_ens" > "$out/inf.txt" 2>&1
check "infer on the ensemble (the reference)" test $? -eq 0 || cat "$out/inf.txt"
start_server ens --run "$out/ens" --timeout 20
mv "$out/ens" "$out/ens.away"
curl -s --max-time 60 "$base/v1/model" > "$out/model.json"
check "GET /v1/model: 2 members" grep -q '"members":2' "$out/model.json"
for subject in s003 s030; do
  IFS=, read -r _ age bmi site sex _ < <(grep "^$subject," "$out/tabular.csv")
  check "ensemble $subject: 200" test "$(post -F "age=$age" -F "bmi=$bmi" -F "site=$site" -F "sex=$sex")" = 200
  want=$(awk -F, -v s=$subject '$1 == s { print $4 }' "$out/inf_ens/predictions.csv")
  single=$(awk -F, -v s=$subject '$1 == s { print $4 }' "$out/inf_binary/predictions.csv")
  check "... infer's mean over the members, digit for digit" \
    test "$(cat "$out/body")" = "{\"predictions\":[{\"target\":\"sick\",\"prediction\":$want}]}"
  check "... which is not the first member's alone (the test means something)" test "$want" != "$single"
done
stop_server
mv "$out/ens.away" "$out/ens"
# A bundle of the classification run serves the same numbers.
"$innereye" export --run "$out/binary" --format bundle --out "$out/binary.bundle" > "$out/export.txt" 2>&1
check "export --format bundle of the binary run" test $? -eq 0
start_server bundle --bundle "$out/binary.bundle" --timeout 20
IFS=, read -r _ age bmi site sex _ < <(grep "^s017," "$out/tabular.csv")
check "serve --bundle: 200" test "$(post -F "age=$age" -F "bmi=$bmi" -F "site=$site" -F "sex=$sex")" = 200
want=$(awk -F, '$1 == "s017" { print $4 }' "$out/inf_binary/predictions.csv")
check "... infer's prediction for s017" test "$(cat "$out/body")" = "{\"predictions\":[{\"target\":\"sick\",\"prediction\":$want}]}"
stop_server
"$innereye" serve --run "$out/binary" --set train.epochs=2 > "$out/bad.txt" 2>&1
check "serve --set on a classification run: exit 2" test $? -eq 2
check "... says nothing can be changed" grep -q "nothing can be changed" "$out/bad.txt"
check "no work folder is left in TMPDIR" test -z "$(ls -A "$TMPDIR")"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
