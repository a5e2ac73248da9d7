#!/usr/bin/env bash
# tests/cli - `innereye serve` for an image classifier (docs/deploy.md,
# "Classification and regression models"): a small Classifier trained on a
# few Fashion-MNIST PNGs (Debian's dataset-fashion-mnist), served, and
#   - a PNG posted as the body, or as the field named by its image column,
#     is answered with infer's predictions.csv text for that image (all 10
#     classes, digit for digit), for several test images in turn and the
#     first again (no request changes what the next is answered), and four
#     at once from four clients;
#   - the run is read once, when the server starts: its folder is moved
#     away right after the start and every answer stays infer's;
#   - bad PNGs are refused with a 4xx and a message and the server goes on:
#     a truncated file, a damaged chunk (CRC), a header declaring more
#     pixels than --max-image-mb allows (413 before anything decodes it), a
#     colour PNG, a PNG of another size than the model was trained on.
#   test_serve_images.sh INNEREYE CONFIG_DIR
# Skipped (exit 77) without curl, python3 or the dataset.
set -u
innereye=$1
configs=$2
command -v curl > /dev/null || { echo "skipped: needs curl (make test-deps)"; exit 77; }
command -v python3 > /dev/null || { echo "skipped: needs python3"; exit 77; }
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] ||
  { echo "skipped: /usr/share/datasets/fashion-mnist is missing (apt-get install dataset-fashion-mnist)"; exit 77; }
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
export TMPDIR=$out/tmp
mkdir "$TMPDIR"
post() { curl -s --max-time 60 -o "$out/body" -w '%{http_code}' "$@" "$base/v1/segment"; }
refused() { # refused DESCRIPTION CODE REGEX CURL_ARGS...
  local code
  code=$(post "${@:4}")
  check "$1: $2" test "$code" = "$2"
  check "$1: says '$3'" grep -Eq -- "$3" "$out/body"
  [ "$code" = "$2" ] && grep -Eq -- "$3" "$out/body" || cat "$out/body"
}
# want SUBJECT: the JSON answer infer's predictions.csv gives for the subject
# (its rows in file order: one per class).
want() {
  awk -F, -v s="$1" '$1 == s { printf "%s{\"target\":\"%s\",\"prediction\":%s}", n++ ? "," : "", $2, $4 }
                     END { if (!n) print "no rows for " s > "/dev/stderr" }' "$out/inf/predictions.csv" |
    sed 's/^/{"predictions":[/; s/$/]}/'
}
# png WIDTH HEIGHT COLOUR_TYPE FILE: a PNG of noise, written with Python's zlib
# (colour type 0: grey, 2: RGB).
png() {
  python3 - "$@" << 'EOF'
import random, struct, sys, zlib
w, h, colour, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
samples = {0: 1, 2: 3}[colour]
random.seed(7)
rows = b"".join(b"\0" + bytes(random.randrange(256) for _ in range(w * samples)) for _ in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
EOF
}

"$innereye" dataset fashion-mnist --out "$out/data" --train 64 --val 16 --test 16 > "$out/dataset.txt" 2>&1
check "a small Fashion-MNIST dataset of PNGs" test $? -eq 0 || cat "$out/dataset.txt"
"$innereye" train --config "$configs/fashion_mnist.json" --set data.dataset_csv="$out/data/dataset.csv" \
  --set 'model.params.widths=[4,8]' --set 'model.params.hidden=[16]' --set train.epochs=1 --set train.batch_size=16 \
  --set data.cache_mb=0 --threads 2 --output-dir "$out" --set run.name=fm > "$out/train.txt" 2>&1
check "an image classifier trains on them" test $? -eq 0 || tail -20 "$out/train.txt"
"$innereye" infer --run "$out/fm" --dataset "$out/data/dataset.csv" --out "$out/inf" > "$out/inf.txt" 2>&1
check "infer on the PNGs (the reference)" test $? -eq 0 || cat "$out/inf.txt"

"$innereye" serve --run "$out/fm" --port 0 --max-image-mb 1 --timeout 30 > "$out/serve.out" 2> "$out/serve.err" &
server_pid=$!
base=
for _ in $(seq 1 300); do
  base=$(sed -n 's|^listening on \(http://.*\)$|\1|p' "$out/serve.out")
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2> /dev/null || break
  sleep 0.1
done
check "the image classifier is served" test -n "$base" || cat "$out/serve.out" "$out/serve.err"
# Everything of the run was read at the start: moved away, it is not there to read again.
mv "$out/fm" "$out/fm.away"
curl -s --max-time 60 "$base/v1/model" > "$out/model.json"
check "GET /v1/model: multiclass over 10 classes, one image column" grep -Eq \
  '"task":"classification","target":"multiclass","outputs":\["T-shirt/top",.*"Ankle boot"\],"members":1,.*"image_columns":\["filePath"\],"value_columns":\[\]' \
  "$out/model.json" || cat "$out/model.json"
check "... its weights_sha256 is the SHA-256 of the run's last checkpoint" grep -q \
  "\"weights_sha256\":\"$(sha256sum "$out/fm.away/checkpoints/epoch_0001.safetensors" | cut -c1-64)\"" "$out/model.json"
images=$out/data
for subject in test_00000 test_00005 test_00011 test_00000; do
  file=$(awk -F, -v s=$subject '$1 == s { print $2 }' "$images/dataset.csv")
  check "$subject ($file) as the body: 200" test "$(post --data-binary "@$images/$file")" = 200
  check "... infer's 10 predictions, digit for digit" test "$(cat "$out/body")" = "$(want $subject)" ||
    { cat "$out/body"; echo; want $subject; }
done
check "the same image as the field filePath: 200" test "$(post -F "filePath=@$images/test/00005.png")" = 200
check "... the same answer" test "$(cat "$out/body")" = "$(want test_00005)"
check "the run's folder was moved away while serving (the test means something)" test ! -e "$out/fm"
# Four clients at once, each its own image: each gets its own image's answer.
clients=
for n in 1 2 3 4; do
  curl -s --max-time 60 -o "$out/concurrent_$n" --data-binary "@$images/test/0000$n.png" "$base/v1/segment" &
  clients="$clients $!"
done
wait $clients # not the server
for n in 1 2 3 4; do
  check "concurrent request $n: infer's answer for test_0000$n" test "$(cat "$out/concurrent_$n")" = "$(want test_0000$n)"
done

# Bad PNGs: refused with a message, and the server goes on.
good=$images/test/00005.png
head -c 60 "$good" > "$out/cut.png"
refused "a truncated PNG" 400 "the image cannot be read: .*PNG" --data-binary "@$out/cut.png"
cp "$good" "$out/crc.png"
size=$(stat -c %s "$good")
printf '\377' | dd of="$out/crc.png" bs=1 seek=$((size - 20)) conv=notrunc 2> /dev/null
check "the damaged copy differs from the good PNG" test "$(cmp -s "$good" "$out/crc.png"; echo $?)" = 1
refused "a PNG with a damaged chunk" 400 "the image cannot be read: .*(CRC|damaged)" --data-binary "@$out/crc.png"
python3 -c "
import struct, sys, zlib
ihdr = b'IHDR' + struct.pack('>IIBBBBB', 20000, 20000, 8, 0, 0, 0, 0)
sys.stdout.buffer.write(b'\x89PNG\r\n\x1a\n' + struct.pack('>I', 13) + ihdr + struct.pack('>I', zlib.crc32(ihdr)))
" > "$out/huge.png"
refused "a PNG declaring 20000 x 20000 pixels" 413 "20000 x 20000 pixels \(381 MB decoded\), more than --max-image-mb 1" \
  --data-binary "@$out/huge.png"
png 28 28 2 "$out/rgb.png"
refused "a colour PNG" 400 "3 components per voxel" --data-binary "@$out/rgb.png"
png 40 40 0 "$out/big.png"
refused "a PNG of 40 x 40 pixels (trained on 28 x 28)" 400 "the model was trained on \[1, 1, 28, 28\]" \
  --data-binary "@$out/big.png"
refused "a PNG for a model field that does not exist" 400 "'image' is not a column this model takes" \
  -F "image=@$good"
check "after all of these: 200" test "$(post --data-binary "@$good")" = 200
check "... and infer's answer" test "$(cat "$out/body")" = "$(want test_00005)"

kill -TERM "$server_pid"
wait "$server_pid"
check "SIGTERM stops it: exit 0" test $? -eq 0
server_pid=
check "no work folder is left in TMPDIR" test -z "$(ls -A "$TMPDIR")"
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
