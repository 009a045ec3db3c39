#!/usr/bin/env bash
# Re-create the shipped checkpoint fewshot_lib/assets/meta_cpu64.pt (model card: data/README.md).
# About 45 minutes on 2 shared CPU cores; one thread is faster than two when the cores are busy.
set -euo pipefail
export FEWSHOT_SMOKE=0 OMP_NUM_THREADS=1
out=${1:-runs/release_cpu64}
fewshot synth --out runs/synth64 --size 64 --splits train            # 800 videos x 32 frames, 136 MB
fewshot train --preset cpu64 --data runs/synth64/train --out "$out" --steps 3000 \
  --lr-g 2e-4 --lr-d 4e-4 --match-weight 0.1 --sample-every 250 --checkpoint-every 50 --log-every 25
python -c "from fewshot_lib.train.meta import export_weights; export_weights('$out/checkpoint.pt', 'fewshot_lib/assets/meta_cpu64.pt')"
cp "$out/log.jsonl" fewshot_lib/assets/meta_cpu64.log.jsonl
python tools/model_card.py fewshot_lib/assets/meta_cpu64.pt --targets 3
