#!/usr/bin/env bash
# tests/docs - docs as tests: runs every command of the ```sh blocks of one
# document, in order, as a newcomer would type them, so that a documented
# command that breaks fails `make test` (docs/testing.md).
#   doc_commands.sh DOC INNEREYE SOURCE_DIR
#
# How:
# - a scratch folder stands in for the repository root: build/ is the build
#   folder of INNEREYE (read only), `innereye` is on the PATH (as after an
#   install), configs/ is the repository's, HOME is a scratch folder, and the
#   placeholders the docs use exist (case.nii.gz and ct.nii.gz, labels/,
#   new_cases.csv, my_experiment.json, my_data/ and data/ with images/ and
#   labels/, also in $HOME/data, ../shared/data/hippocampus/images and
#   labels), made from generated volumes; model.safetensors and
#   unet3d.safetensors are trained where a document names them;
# - INNEREYE_SET (docs/config.md) shrinks every new run: 1 epoch, 6 subjects;
# - run folders written as outputs/<Model>_<time> (or outputs/<run>) are
#   the newest such folder of the scratch outputs/, outputs/<A>, run_a and
#   <run_a> the second newest, outputs/<B>, run_b and <run_b> the newest;
#   --resume continues a run stopped after its first epoch;
# - the commands run as in one shell session: each starts in the folder the
#   one before left (cd) with the variables it exported;
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

# ---- the commands of the document (run below)
commands=$(awk '
  /^```sh[[:space:]]*$/ { inside = 1; next }
  /^```/ { inside = 0; next }
  inside {
    line = $0
    if (pending != "") { line = pending " " line; pending = "" }
    if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); pending = line; next }
    print line
  }' "$doc")

# ---- the scratch repository root and the placeholders
# The repository root is $scratch/repo, so that ../shared/data is
# $scratch/shared/data; its build/ is the build folder of INNEREYE (the
# documents only read it: build/tests/..., cmake --install build).
root=$scratch/repo
mkdir -p "$root" "$scratch/home"
ln -s "$(dirname "$(dirname "$innereye")")" "$root/build"
ln -s "$src/configs" "$root/configs"
export PATH=$root/build/bin:$PATH HOME=$scratch/home DOC_SCRATCH=$scratch
cd "$root"
# A small HelloWorld run on generated volumes, whose data makes the
# placeholders; a document that has not trained a HelloWorld yet finds it as
# its outputs/HelloWorld_<time> (it is older than any the document trains).
fixture=outputs/HelloWorld_20000101T000000
build/bin/innereye train --model HelloWorld --output-dir "$(dirname $fixture)" --set data.synthetic=true \
  --set run.name="$(basename $fixture)" --set model.params.features=4 --set model.params.depth=2 > fixture.log 2>&1 ||
  { cat fixture.log; exit 1; }
data=$fixture/synthetic_data
cp $data/synthetic_000_image.nii.gz case.nii.gz
cp case.nii.gz ct.nii.gz
mkdir -p labels && cp $data/synthetic_000_label.nii.gz labels/case.nii.gz
sed 's#^synthetic_0*\([0-9]\)#new_\1#' $data/dataset.csv | sed "s#,\([^,/]*\.nii\.gz\)#,$root/$data/\1#" > new_cases.csv
printf '{"extends": "hello_world.json", "data": {"synthetic": true}}\n' > my_experiment.json
# "your own NIfTI folder": my_data/images and my_data/labels; and the
# hippocampus data the built-in configs read (../shared/data/hippocampus),
# under the generated subjects' names, so that a run on it and one on
# generated data test the same subjects (README.md compares two such runs).
mkdir -p my_data/images my_data/labels ../shared/data/hippocampus/images ../shared/data/hippocampus/labels \
  data/images data/labels $HOME/data/images $HOME/data/labels
for f in $data/synthetic_*_image.nii.gz; do
  s=$(basename "${f%_image.nii.gz}")
  cp "$f" "my_data/images/$s.nii.gz"
  cp "$f" "data/images/$s.nii.gz"; cp "$f" "$HOME/data/images/$s.nii.gz"
  cp "$f" "../shared/data/hippocampus/images/$s.nii.gz"
done
for f in $data/synthetic_*_label.nii.gz; do
  s=$(basename "${f%_label.nii.gz}")
  cp "$f" "my_data/labels/$s.nii.gz"
  cp "$f" "data/labels/$s.nii.gz"; cp "$f" "$HOME/data/labels/$s.nii.gz"
  cp "$f" "../shared/data/hippocampus/labels/$s.nii.gz"
done
# model.safetensors: weights of my_experiment.json's model (made only where used).
if printf '%s\n' "$commands" | grep -q 'model\.safetensors'; then
  build/bin/innereye train --config my_experiment.json --output-dir fixture --set run.name=m > model.log 2>&1 &&
    cp fixture/m/checkpoints/epoch_0001.safetensors model.safetensors || { cat model.log; exit 1; }
fi
# unet3d.safetensors: UNet3D weights with features 4, depth 2 (as a converted
# checkpoint of models.md; made only where used).
if printf '%s\n' "$commands" | grep -q 'unet3d\.safetensors'; then
  build/bin/innereye train --model UNet3D --output-dir fixture --set run.name=u --set data.synthetic=true \
    --set model.params.features=4 --set model.params.depth=2 > unet3d.log 2>&1 &&
    cp fixture/u/checkpoints/epoch_0001.safetensors unet3d.safetensors || { cat unet3d.log; exit 1; }
fi
# The newest run folder outputs/<MODEL>_<time> (of any model without one).
# newest_run [MODEL [N]]: the Nth newest (default 1).
printf '#!/usr/bin/env bash\nls -dt outputs/* | grep -E "^outputs/${1:-[A-Za-z0-9]+}_20[0-9]{6}T[0-9]{6}(_[0-9]+)?$" | sed -n "${2:-1}p"\n' \
  > "$scratch/newest_run"
chmod +x "$scratch/newest_run"
# A run stopped after epoch 1 of 2, for the --resume commands.
if printf '%s\n' "$commands" | grep -q -- '--resume'; then
INNEREYE_SET= build/bin/innereye train --model HelloWorld --output-dir outputs --set run.name=HelloWorld_stopped \
  --set data.synthetic=true --set data.synthetic_subjects=6 --set train.epochs=2 --stop-after-epochs 1 \
  > stopped.log 2>&1
[ -e outputs/HelloWorld_stopped/checkpoints/last.json ] || { cat stopped.log; exit 1; }
fi

skips=$(awk -F '\t' -v d="$name" '$1 == d { print $2 "\t" $3 }' "$src/tests/docs/skips.txt")

pwd > "$scratch/cwd"
: > "$scratch/env.sh"
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
    -e 's#outputs/([A-Za-z0-9]+)_20[0-9]{6}T[0-9]{6}#$($DOC_SCRATCH/newest_run \1)#g' \
    -e 's#outputs/([A-Za-z0-9]+)_<time>#$($DOC_SCRATCH/newest_run \1)#g' \
    -e 's#outputs/<run>#$($DOC_SCRATCH/newest_run)#g' \
    -e 's#outputs/(<A>|run_a|<run_a>)#$($DOC_SCRATCH/newest_run "" 2)#g' -e 's#outputs/(<B>|run_b|<run_b>)#$($DOC_SCRATCH/newest_run "" 1)#g' \
    -e 's#outputs/run_c#$($DOC_SCRATCH/newest_run "" 3)#g')
  echo "RUN   $cmd"
  # One shell session, as a reader's: each command starts in the folder the
  # one before left (cd) with the variables it exported (export). Its stdin
  # is not the list of commands (mpirun would read the rest of it).
  if ! (cd "$(cat "$scratch/cwd")" && source "$scratch/env.sh" && bash -c "$run_cmd; rc=\$?; export -p > $scratch/env.sh; \
        pwd > $scratch/cwd; exit \$rc") < /dev/null > "$scratch/out_$n.log" 2>&1; then
    echo "FAIL  $name: this documented command failed:"
    echo "      $cmd"
    sed 's/^/      | /' "$scratch/out_$n.log" | tail -40
    exit 1
  fi
  ran=$((ran + 1))
done <<< "$commands"
echo "$name: $ran commands ran, $skipped skipped (listed above with the reason)"
# Every command was run or skipped: none lost on the way.
expected=$(printf '%s\n' "$commands" | grep -Evc '^[[:space:]]*(#|$)')
[ "$n" -eq "$expected" ] || { echo "FAIL  $name: $expected commands, but only $n were reached"; exit 1; }
# A document whose commands are all skipped (or none found) tests nothing.
[ "$ran" -gt 0 ] || { echo "FAIL  $name: no command ran"; exit 1; }
