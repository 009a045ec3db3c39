#!/usr/bin/env bash
# Re-create the shipped checkpoint fewshot_lib/assets/meta_cpu64.pt (model card: data/README.md).
# About 2 h 10 min on 2 shared CPU cores (12,000 steps); one thread is faster than two when the cores are busy.
# Exactly as the shipped file was made: 3,000 steps, then the same run resumed to 12,000 (sample grids and
# checkpoints less often from there; a resumed run otherwise continues as an uninterrupted one would).
set -euo pipefail
export FEWSHOT_SMOKE=0 OMP_NUM_THREADS=1
out=${1:-runs/release_cpu64}
fewshot synth --out runs/synth64 --size 64 --splits train            # 800 videos x 32 frames, 136 MB
train="fewshot train --preset cpu64 --data runs/synth64/train --out $out --lr-g 2e-4 --lr-d 4e-4 --match-weight 0.1 --log-every 25"
$train --steps 3000 --sample-every 250 --checkpoint-every 50
$train --steps 12000 --sample-every 500 --checkpoint-every 100 --resume
python -c "from fewshot_lib.train.networks import export_weights; export_weights('$out/checkpoint.pt', 'fewshot_lib/assets/meta_cpu64.pt')"
cp "$out/log.jsonl" fewshot_lib/assets/meta_cpu64.log.jsonl
fewshot model-card fewshot_lib/assets/meta_cpu64.pt --targets 3
