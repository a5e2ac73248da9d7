#!/usr/bin/env bash
# tests/cli - progress bars as a person sees them.  A short HelloWorld run
# (dataset check, 1 epoch, validation, test inference) runs in a
# pseudo-terminal (`script`, bsdutils); its output is played through a small
# terminal model (\r, erase-to-end-of-line, newlines) and the screen that is
# left must show each bar finished, one per line, with nothing glued to it
# and no escape codes; while running, an ETA was shown.  The same run into a
# file (not a terminal) must hold no \r and no escape codes at all.
# Skipped (77) when the hippocampus data is absent.
#   test_progress.sh INNEREYE SOURCE_DIR
set -u
innereye=$1
src=$2
if [ ! -d "$src/../shared/data/hippocampus/images" ]; then
  echo "skipped: $src/../shared/data/hippocampus is absent"
  exit 77
fi
command -v script > /dev/null || { echo "skipped: script (bsdutils) is not installed"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$src" || exit 1
run="$innereye --model=HelloWorld --num_epochs=1 --threads 2 --set run.report=false --set data.max_subjects=60"
# -e: the command's exit code; -f: flush as written; the typescript is the raw bytes a terminal received.
script -qfec "$run --output-dir $out/tty" "$out/typescript" > /dev/null 2>&1 || { echo "FAIL: the run failed"; cat "$out/typescript"; exit 1; }
$run --output-dir "$out/file" > "$out/plain.log" 2>&1 || { echo "FAIL: the run into a file failed"; cat "$out/plain.log"; exit 1; }
/usr/bin/python3 - "$out/typescript" "$out/plain.log" <<'PY'
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
fails = []
# A terminal model: \r goes to column 0, ESC[K erases to the end of the line,
# \n starts a new line; other text overwrites from the cursor.
screen, line, col = [], [], 0
for tok in re.findall(r"\x1b\[K|\r|\n|[^\r\n\x1b]+|\x1b", raw):
    if tok == "\r":
        col = 0
    elif tok == "\n":
        screen.append("".join(line).rstrip())
        line, col = [], 0
    elif tok == "\x1b[K":
        del line[col:]
    elif tok == "\x1b":
        fails.append("an escape sequence other than ESC[K reached the terminal")
    else:
        for ch in tok:
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
if line:
    screen.append("".join(line).rstrip())
print("\n".join("screen| " + s for s in screen))
bar = re.compile(r"^(dataset check|validation|test inference) \[([#.]{24})\] (\d+)/(\d+) subjects  \d\d:\d\d$")
seen = {}
for s in screen:
    m = bar.match(s)
    if m:
        seen[m.group(1)] = m
    elif "[" in s and "subjects" in s and ("#" in s or "...." in s):
        fails.append("a bar line with something glued to it or left over: %r" % s)
for what in ("dataset check", "validation", "test inference"):
    m = seen.get(what)
    if not m:
        fails.append("no finished '%s' bar on the screen" % what)
    elif m.group(2) != "#" * 24 or m.group(3) != m.group(4):
        fails.append("the '%s' bar was left unfinished: %r" % (what, m.group(0)))
if not re.search(r"(validation|test inference) \[#*\.+\] \d+/\d+ subjects  \d\d:\d\d  ETA \d\d:\d\d", raw):
    fails.append("no intermediate bar with an ETA was drawn")
plain = open(sys.argv[2], "rb").read().decode("utf-8", "replace")
if "\r" in plain or "\x1b" in plain:
    fails.append("the output into a file holds \\r or escape codes")
if "test (" not in plain:
    fails.append("the output into a file lost the test line")
for f in fails:
    print("FAIL", f)
print("ok" if not fails else "%d failures" % len(fails))
sys.exit(1 if fails else 0)
PY
