#!/usr/bin/env bash
# Re-create the shipped warping generator fewshot_lib/assets/warp_cpu64.pt (model card: data/README.md).
# The warping generator's painter (E and G) and D start from the shipped paper model meta_cpu64.pt;
# its flow network F starts at zero (the TPS warps, blended by pose). Same data, losses and learning
# rates as the paper model's run (tools/train_release.sh), one thread.
set -euo pipefail
export FEWSHOT_SMOKE=0 OMP_NUM_THREADS=1
out=${1:-runs/release_warp_cpu64}
steps=${STEPS:-2400}        # the shipped file: 2,400 steps, on a GPU (data/README.md); here ≈ 2 h on a CPU
fewshot train --model warp --init fewshot_lib/assets/meta_cpu64.pt --preset cpu64 --data synthetic --out "$out" \
  --lr-g 2e-4 --lr-d 4e-4 --match-weight 0.1 --log-every 25 --sample-every 250 --checkpoint-every 100 --steps "$steps" \
  $( [ -f "$out/checkpoint.pt" ] && echo --resume )
python -c "from fewshot_lib.train.networks import export_weights; export_weights('$out/checkpoint.pt', 'fewshot_lib/assets/warp_cpu64.pt')"
cp "$out/log.jsonl" fewshot_lib/assets/warp_cpu64.log.jsonl
fewshot model-card fewshot_lib/assets/meta_cpu64.pt --warp fewshot_lib/assets/warp_cpu64.pt --targets 3
