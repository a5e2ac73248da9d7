#!/usr/bin/env bash
# tests/sdk - the SDK as a third party uses it: install InnerEye into a fresh
# prefix, build plugins/examples/TinySeg out of tree with nothing but
# -DCMAKE_PREFIX_PATH, load it with the installed `innereye`, and start a new
# plugin from the installed template and build that too.
#   test_sdk_package.sh CMAKE BUILD_DIR SOURCE_DIR
set -euo pipefail
cmake=$1
build=$(cd "$2" && pwd)
src=$(cd "$3" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== install the SDK into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }
for f in bin/innereye include/innereye/plugin.h include/innereye/layers.h lib/cmake/InnerEye/InnerEyeConfig.cmake \
         lib/cmake/InnerEye/InnerEyeConfigVersion.cmake lib/cmake/InnerEye/InnerEyeTargets.cmake \
         share/innereye/template/CMakeLists.txt share/innereye/template/mymodel.c; do
  [ -e "$prefix/$f" ] || fail "the install lacks $f"
done
ls "$prefix"/lib/libinnereye.so* >/dev/null || fail "the install lacks libinnereye.so"
[ ! -e "$prefix/lib/test-plugins" ] || fail "test plugins must not be installed"

# A plugin built against the installed header declares its ABI: MAJOR.MINOR.
abi_part() { sed -n "s/^#define IE_PLUGIN_ABI_$1 \([0-9][0-9]*\)$/\1/p" "$prefix/include/innereye/plugin.h"; }
abi="$(abi_part MAJOR)\\.$(abi_part MINOR)"
[ "$abi" != '\.' ] || fail "the installed innereye/plugin.h defines no IE_PLUGIN_ABI_MAJOR/MINOR"

# Out of tree, against the installed package only.
build_plugin() { # SOURCE BUILD
  "$cmake" -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$2.log" 2>&1 &&
    "$cmake" --build "$2" >>"$2.log" 2>&1 || { cat "$2.log"; fail "building $1 against the installed SDK"; }
}

# The installed host, listing one plugin; prints the listing.
check_listed() { # SO NAME
  local out
  out=$("$prefix/bin/innereye" plugins --plugin "$1") || { echo "$out"; fail "innereye plugins --plugin $1"; }
  echo "$out"
  local entry
  entry=$(printf '%s\n' "$out" | sed -n '/^requested:/,$p')
  printf '%s\n' "$entry" | grep -Eq "^  $2 0\.1\.0  \(segmentation, plugin ABI $abi\)$" ||
    fail "$2 is not listed with its name, version, task and ABI"
  local sha
  sha=$(printf '%s\n' "$entry" | sed -n 's/^    sha256  \([0-9a-f]\{64\}\)$/\1/p')
  [ -n "$sha" ] || fail "no 64-hex SHA-256 listed for $2"
  [ "$sha" = "$(sha256sum "$1" | cut -d' ' -f1)" ] || fail "the listed SHA-256 of $2 is not sha256sum's"
  printf '%s\n' "$entry" | grep -q "^    path    $(realpath "$1")$" || fail "the path of $2 is not listed"
}

echo "== build plugins/examples/TinySeg against the installed SDK"
cp -r "$src/plugins/examples/TinySeg" "$tmp/TinySeg" # a clean copy: no build output in the source tree
build_plugin "$tmp/TinySeg" "$tmp/tinyseg-build"
so=$tmp/tinyseg-build/libtinyseg.so
[ -f "$so" ] || fail "no $so"
# Only the entry point is exported (-fvisibility=hidden).
exported=$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}')
[ "$exported" = "ie_plugin_entry" ] || fail "exported functions are '$exported', expected only ie_plugin_entry"
check_listed "$so" TinySeg

echo "== new-plugin from the installed template"
out=$("$prefix/bin/innereye" new-plugin Brain3 "$tmp/brain3") || { echo "$out"; fail "new-plugin"; }
echo "$out"
printf '%s\n' "$out" | grep -q "from the template in $prefix/bin/../share/innereye/template" ||
  fail "the installed innereye did not use the installed template"
[ -f "$tmp/brain3/brain3.c" ] && ! grep -qi mymodel "$tmp/brain3/brain3.c" "$tmp/brain3/CMakeLists.txt" ||
  fail "new-plugin left the template's name in place"
build_plugin "$tmp/brain3" "$tmp/brain3-build"
check_listed "$tmp/brain3-build/libbrain3.so" Brain3

echo "== train TinySeg through the installed host"
cat > "$tmp/tinyseg.json" <<JSON
{
  "model": {"name": "TinySeg", "plugin": "$so", "params": {"hidden_channels": 8}},
  "data": {"synthetic": true, "synthetic_subjects": 6, "classes": ["background", "ball", "shell"],
           "crop_size": [16, 16, 16]},
  "train": {"epochs": 5, "batch_size": 2, "optimizer": {"lr": 0.02}},
  "output": {"dir": "$tmp/outputs"},
  "run": {"name": "tinyseg"}
}
JSON
"$prefix/bin/innereye" train --config "$tmp/tinyseg.json" --threads 2 > "$tmp/train.txt" 2>&1 ||
  { cat "$tmp/train.txt"; fail "innereye train with the TinySeg plugin"; }
cat "$tmp/train.txt"
log=$tmp/outputs/tinyseg/train_log.csv
first=$(awk -F, 'NR == 2 {print $3}' "$log")
last=$(awk -F, 'END {print $3}' "$log")
awk -v a="$first" -v b="$last" 'BEGIN {exit !(b < 0.8 * a)}' ||
  fail "TinySeg's training loss did not fall by 20% ($first -> $last)"
echo "TinySeg learned: training loss $first -> $last"
grep -Eq "\"sha256\":[[:space:]]*\"$(sha256sum "$so" | cut -d' ' -f1)\"" "$tmp/outputs/tinyseg/run.json" ||
  fail "run.json does not record the plugin's SHA-256"

echo "PASS: the SDK package builds, loads and trains a third-party plugin"
