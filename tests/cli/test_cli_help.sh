#!/usr/bin/env bash
# tests/cli - one option behaviour for every command (tools/commands.c): -h
# and --help exit 0 with the command's usage on stdout, `innereye help CMD`
# prints the same, `innereye --version` names version, commit and plugin ABI,
# and mistyped commands and options get a suggestion and exit 2.
#   test_cli_help.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}

# Every command of the list answers -h and --help alike, with exit 0.
"$innereye" help > "$out/list.txt"
check "innereye help exits 0 with the command list" grep -q "^  train  " "$out/list.txt"
commands=$(sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' "$out/list.txt")
check "the list has every command (at least 20)" test "$(echo "$commands" | wc -l)" -ge 20
for c in $commands; do
  "$innereye" "$c" --help > "$out/$c.long" 2> "$out/$c.err"; rc_long=$?
  "$innereye" "$c" -h > "$out/$c.short" 2>&1; rc_short=$?
  "$innereye" help "$c" > "$out/$c.help" 2>&1; rc_help=$?
  check "$c --help, -h and help $c exit 0" test $rc_long -eq 0 -a $rc_short -eq 0 -a $rc_help -eq 0
  check "$c --help prints its usage on stdout" grep -q "usage: innereye $c" "$out/$c.long"
  check "$c: -h and help $c print what --help prints" cmp -s "$out/$c.long" "$out/$c.short"
  cmp -s "$out/$c.long" "$out/$c.help" || { echo "FAIL  help $c differs from $c --help"; fails=$((fails + 1)); }
done
# --help after other arguments, even ones that would be refused.
"$innereye" train --model HelloWorld --set train.epochs=1 --help > "$out/late.txt" 2>&1
check "train ... --help after other arguments exits 0 without training" test $? -eq 0
check "  and prints train's usage" grep -q "usage: innereye train" "$out/late.txt"
check "  and made no run folder" test ! -e outputs
"$innereye" rerun --help > "$out/rerun.txt" 2>&1
check "rerun --help is not taken for a run folder" grep -q "usage: innereye rerun RUN_DIR" "$out/rerun.txt"
"$innereye" --model=HelloWorld --help > "$out/ie.txt" 2>&1
check "InnerEye's spelling with --help prints train's usage" grep -q "usage: innereye train" "$out/ie.txt"

"$innereye" --version > "$out/version.txt"
check "--version exits 0" test $? -eq 0
check "--version names version, commit and plugin ABI" \
  grep -Eq "^innereye [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{40}(-dirty)?\), plugin ABI [0-9]+\.[0-9]+$" \
  "$out/version.txt"

refused() { # refused DESCRIPTION EXPECTED-TEXT COMMAND...: exit 2 and the text on stderr
  "${@:3}" > "$out/r.out" 2> "$out/r.err"
  local rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$2" "$out/r.err"; then echo "ok    $1"
  else echo "FAIL  $1 (exit $rc)"; cat "$out/r.out" "$out/r.err"; fails=$((fails + 1)); fi
}
refused "a mistyped command gets a suggestion" "unknown command 'trian'; did you mean 'train'?" "$innereye" trian
refused "a command's prefix is suggested" "did you mean 'plugins'?" "$innereye" plug
refused "help of an unknown command" "unknown command 'nosuch'" "$innereye" help nosuch
refused "a mistyped option gets a suggestion (eval)" "unknown option '--truht'; did you mean '--truth'?" \
  "$innereye" eval --pred a --truht b --out c
refused "a mistyped option gets a suggestion (infer)" "did you mean '--image'?" \
  "$innereye" infer --checkpoint w.safetensors --model HelloWorld --imgae x.nii.gz --out o
refused "a config key's name as an option is pointed to --set" "did you mean '--set train.epochs=VALUE'?" \
  "$innereye" train --model HelloWorld --epochs 3
refused "an InnerEye flag misspelt" "did you mean '--num_epochs'?" \
  "$innereye" train --model HelloWorld --num_epoch 3
refused "a config that cannot be read is one message" "cannot open nothere.json" \
  "$innereye" train --config nothere.json
check "  without the usage text" bash -c "! grep -q 'usage:' '$out/r.err' && [ \$(wc -l < '$out/r.err') -eq 1 ]"
refused "a config folder is one message too" "is a folder, not a file" "$innereye" train --config "$out"
check "  without the usage text" bash -c "! grep -q 'usage:' '$out/r.err' && [ \$(wc -l < '$out/r.err') -eq 1 ]"
refused "no arguments at all: the list on stderr, exit 2" "" "$innereye"
check "  which lists the commands" grep -q "^  infer  " "$out/r.err"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
