#!/usr/bin/env bash
# tests/docs - docs as tests: runs every command of the ```sh blocks of one
# document, in order, as a newcomer would type them, so that a documented
# command that breaks fails `make test` (docs/testing.md).
#   doc_commands.sh DOC INNEREYE SOURCE_DIR
#
# How:
# - a scratch folder stands in for the repository root: build/bin/innereye is
#   the built command, configs/ the repository's, and the placeholders the
#   docs use exist (case.nii.gz, labels/, new_cases.csv, my_experiment.json,
#   my_data/images and my_data/labels), made from generated volumes;
# - INNEREYE_SET (docs/config.md) shrinks every new run: 1 epoch, 6 subjects;
# - run folders written as outputs/<Model>_<time> (or outputs/<run>) are
#   the newest such folder of the scratch outputs/, outputs/<A> and run_a
#   the second newest, outputs/<B> and run_b the newest; --resume continues
#   a run stopped after its first epoch;
# - a line continued with '\' is one command; a command matching a line of
#   tests/docs/skips.txt for this document (what needs a cluster, a GPU, the
#   network, root or a user's own files) is not run and is listed as SKIP
#   with the reason, visibly.
# Each command must exit 0; the first failure shows its output.
set -u
doc=$(realpath "$1")
innereye=$2
src=$3
name=$(basename "$doc")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export INNEREYE_SET="train.epochs=1 data.max_subjects=6 data.synthetic_subjects=6"
export INNEREYE_CONFIG_DIR=$src/configs

# ---- the scratch repository root and the placeholders
mkdir -p "$scratch/build/bin"
ln -s "$innereye" "$scratch/build/bin/innereye"
ln -s "$src/configs" "$scratch/configs"
cd "$scratch"
build/bin/innereye train --model HelloWorld --output-dir fixture --set data.synthetic=true --set run.name=f \
  --set model.params.features=4 --set model.params.depth=2 > fixture.log 2>&1 || { cat fixture.log; exit 1; }
data=fixture/f/synthetic_data
cp $data/synthetic_000_image.nii.gz case.nii.gz
mkdir -p labels && cp $data/synthetic_000_label.nii.gz labels/case.nii.gz
sed 's#^synthetic_0*\([0-9]\)#new_\1#' $data/dataset.csv | sed "s#,\([^,/]*\.nii\.gz\)#,$scratch/$data/\1#" > new_cases.csv
printf '{"extends": "hello_world.json", "data": {"synthetic": true}}\n' > my_experiment.json
# "your own NIfTI folder": my_data/images and my_data/labels.
mkdir -p my_data/images my_data/labels
for f in $data/synthetic_*_image.nii.gz; do cp "$f" "my_data/images/$(basename "${f%_image.nii.gz}").nii.gz"; done
for f in $data/synthetic_*_label.nii.gz; do cp "$f" "my_data/labels/$(basename "${f%_label.nii.gz}").nii.gz"; done
# The newest run folder outputs/<MODEL>_<time> (of any model without one).
# newest_run [MODEL [N]]: the Nth newest (default 1).
printf '#!/usr/bin/env bash\nls -dt outputs/* | grep -E "^outputs/${1:-[A-Za-z0-9]+}_20[0-9]{6}T[0-9]{6}(_[0-9]+)?$" | sed -n "${2:-1}p"\n' \
  > newest_run
chmod +x newest_run
# A run stopped after epoch 1 of 2, for the --resume commands.
INNEREYE_SET= build/bin/innereye train --model HelloWorld --output-dir outputs --set run.name=HelloWorld_stopped \
  --set data.synthetic=true --set data.synthetic_subjects=6 --set train.epochs=2 --stop-after-epochs 1 \
  > stopped.log 2>&1
[ -e outputs/HelloWorld_stopped/checkpoints/last.json ] || { cat stopped.log; exit 1; }

# ---- the commands of the document
commands=$(awk '
  /^```sh[[:space:]]*$/ { inside = 1; next }
  /^```/ { inside = 0; next }
  inside {
    line = $0
    if (pending != "") { line = pending " " line; pending = "" }
    if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); pending = line; next }
    print line
  }' "$doc")
skips=$(awk -F '\t' -v d="$name" '$1 == d { print $2 "\t" $3 }' "$src/tests/docs/skips.txt")

ran=0 skipped=0 n=0
while IFS= read -r cmd; do
  [ -z "${cmd// }" ] && continue
  case "$cmd" in \#*) continue ;; esac
  n=$((n + 1))
  reason=""
  while IFS=$'\t' read -r pattern why; do
    [ -n "$pattern" ] && printf '%s\n' "$cmd" | grep -Eq -- "$pattern" && { reason=$why; break; }
  done <<< "$skips"
  if [ -n "$reason" ]; then
    echo "SKIP  $cmd"
    echo "      ($reason)"
    skipped=$((skipped + 1))
    continue
  fi
  # outputs/HelloWorld_20261126T221500 and outputs/<run>: the newest such run.
  # A --resume continues the stopped run.
  case "$cmd" in *--resume*) cmd_in=$(printf '%s\n' "$cmd" | sed -E 's#outputs/([A-Za-z0-9]+)_20[0-9]{6}T[0-9]{6}#outputs/\1_stopped#g') ;;
    *) cmd_in=$cmd ;; esac
  run_cmd=$(printf '%s\n' "$cmd_in" | sed -E \
    -e 's#outputs/([A-Za-z0-9]+)_20[0-9]{6}T[0-9]{6}#$(./newest_run \1)#g' \
    -e 's#outputs/<run>#$(./newest_run)#g' \
    -e 's#outputs/(<A>|run_a)#$(./newest_run "" 2)#g' -e 's#outputs/(<B>|run_b)#$(./newest_run "" 1)#g')
  echo "RUN   $cmd"
  if ! bash -c "$run_cmd" > "out_$n.log" 2>&1; then
    echo "FAIL  $name: this documented command failed:"
    echo "      $cmd"
    sed 's/^/      | /' "out_$n.log" | tail -40
    exit 1
  fi
  ran=$((ran + 1))
done <<< "$commands"
echo "$name: $ran commands ran, $skipped skipped (listed above with the reason)"
# A document whose commands are all skipped (or none found) tests nothing.
[ "$ran" -gt 0 ] || { echo "FAIL  $name: no command ran"; exit 1; }
