#!/usr/bin/env bash
# tools/bench - data-parallel scaling figures of docs/performance.md: the
# HelloWorld model (features 8, depth 3, 32^3 crops), steps of 4 samples as
# micro-batches of 2, trained for 3 epochs of 4 steps (16 subjects), on one
# process with all cores and on P = 1, 2 MPI processes with cores / P
# threads each.
# Prints seconds per global batch (epochs 2-3, from train_log.csv) and the
# gradient exchange time per step the trainer reports, for P = 1, 2 with the
# buckets reduced while backward runs (dist.overlap, the default) and after
# it.  Run it as root under
# chrt for steadier numbers:  chrt -f 10 tools/bench/dist_scaling.sh build/bin/innereye
# Further arguments go to every training, e.g. --set train.sync_batch_norm=true,
# or --set train.batch_size=8 for steps of 4 micro-batches (2 per rank on
# P = 2: the communication thread then sums and sends during the first).
set -u
innereye=$1
shift
batch=4
for a in "$@"; do case $a in train.batch_size=*) batch=${a#train.batch_size=} ;; esac; done
steps=$(((16 + batch - 1) / batch)) # 16 training subjects
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cores=$(nproc)
args=(--model HelloWorld --output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=20
      --set data.split.train=0.8 --set data.split.val=0.1 --set data.split.test=0.1 --set train.epochs=3
      --set train.batch_size=4 --set train.micro_batch_size=2 --set train.validate_every=100
      --set run.infer_test=false --set data.workers=0 "$@")
per_step() { # seconds per global batch over epochs 2-3
  awk -F, -v steps=$steps 'NR > 2 { s += $NF; n++ } END { printf "%.3f", s / n / steps }' "$1/train_log.csv"
}
"$innereye" train "${args[@]}" --set run.name=single --threads "$cores" > "$out/single.txt" 2>&1 || exit 1
echo "one process, $cores threads (no MPI): $(per_step "$out/single") s per global batch"
for p in 1 2; do
  for overlap in true false; do
    name=p$p$overlap
    "$innereye" train "${args[@]}" --set run.name=$name --set dist.overlap=$overlap --processes $p > "$out/$name.txt" 2>&1 \
      || { tail "$out/$name.txt"; exit 1; }
    echo "P = $p, $((cores / p > 1 ? cores / p : 1)) threads each, overlap $overlap: $(per_step "$out/$name") s per" \
         "global batch; $(grep -o 'gradient exchange: .*' "$out/$name.txt")"
    cmp -s "$out/single/checkpoints/epoch_0003.safetensors" "$out/$name/checkpoints/epoch_0003.safetensors" \
      && echo "  (weights identical to the single process)" || echo "  WEIGHTS DIFFER"
  done
done
