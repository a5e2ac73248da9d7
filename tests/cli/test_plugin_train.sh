#!/usr/bin/env bash
# tests/cli - training a plugin as docs/sdk.md step 5 says: the project's
# config (tinyseg.json, from the template) is found beside the plugin file
# or one folder up; `--config tinyseg.json` from the project folder works;
# a plugin file without a config gets a message saying what to do.
#   test_plugin_train.sh INNEREYE PLUGIN_SO SOURCE_DIR
set -u
innereye=$1
plugin=$2
src=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--output-dir "$out/o" --set data.synthetic=true --set data.synthetic_subjects=6 --set train.epochs=1
      --set data.crop_size=[16,16,16] --threads 2)
# A project folder as new-plugin makes it, built: tinyseg.json, build/libtinyseg.so.
mkdir -p "$out/proj/build" "$out/bare"
cp "$src/plugins/examples/TinySeg/tinyseg.json" "$out/proj/"
cp "$plugin" "$out/proj/build/libtinyseg.so"
cp "$plugin" "$out/bare/libtinyseg.so"
cd "$out/proj"

"$innereye" train --model build/libtinyseg.so "${tiny[@]}" --set run.name=by_model > a.txt 2>&1
check "train --model build/libtinyseg.so works with the project's config" test $? -eq 0
check "  the run used the plugin file given" grep -q "libtinyseg.so" "$out/o/by_model/run.json"
check "  and the config's settings (train.epochs from the command line, classes from hello_world.json)" \
  grep -q '"anterior"' "$out/o/by_model/config.resolved.json"
"$innereye" train --config tinyseg.json "${tiny[@]}" --set run.name=by_config > b.txt 2>&1
check "train --config tinyseg.json from the project folder works" test $? -eq 0

cd "$out"
"$innereye" train --model bare/libtinyseg.so "${tiny[@]}" > c.txt 2>&1
rc=$?
check "a plugin file without a config: exit 2" test $rc -eq 2
check "  the message says it has no config, where it looked and what to do" \
  grep -q "the plugin bare/libtinyseg.so has no config: looked for bare/tinyseg.json and bare/../tinyseg.json.*innereye new-plugin writes one" c.txt
check "  and no run folder was made" test ! -e "$out/o/TinySeg"*

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
