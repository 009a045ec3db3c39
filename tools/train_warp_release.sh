#!/usr/bin/env bash
# Re-create the shipped warping generator fewshot_lib/assets/warp_cpu64.pt (model card: data/README.md).
# Stage 1: the warping generator's painter (E and G) and D start from the shipped paper model meta_cpu64.pt;
# its flow network F starts at zero (the TPS warps, blended by pose). Same data, losses and learning
# rates as the paper model's run (tools/train_release.sh), one thread.
# Stage 2: more steps from stage 1's weights (fresh optimisers, another seed for the episodes).
# The shipped file: stage 1 on a GPU (2,400 steps), stage 2 on one CPU thread (1,200 steps, 55 min);
# GPU and CPU runs differ in float rounding, not in recipe.
# The shipped copy of stage 2 switches the residual flow off (max_flow = 0: the TPS warps, the learned
# confidences, mask and painter), chosen on validation people (data/README.md).
set -euo pipefail
export FEWSHOT_SMOKE=0 OMP_NUM_THREADS=1
out=${1:-runs/release_warp_cpu64}
steps=${STEPS:-2400}           # stage 1 (≈ 2 h on a CPU)
more=${MORE_STEPS:-1200}       # stage 2
common=(--model warp --preset cpu64 --data synthetic --lr-g 2e-4 --lr-d 4e-4 --match-weight 0.1 --log-every 25
        --sample-every 250 --checkpoint-every 100)
export_to() {   # checkpoint, copy[, max_flow]
  python -c "from fewshot_lib.train.networks import export_weights; export_weights('$1', '$2', ${3:-None})"; }

fewshot train "${common[@]}" --init fewshot_lib/assets/meta_cpu64.pt --out "$out/stage1" --steps "$steps" \
  $( [ -f "$out/stage1/checkpoint.pt" ] && echo --resume )
export_to "$out/stage1/checkpoint.pt" "$out/stage1.pt"
fewshot train "${common[@]}" --init "$out/stage1.pt" --seed 7 --out "$out/stage2" --steps "$more" \
  $( [ -f "$out/stage2/checkpoint.pt" ] && echo --resume )
export_to "$out/stage2/checkpoint.pt" "$out/stage2.pt"                          # the flow on, as trained
export_to "$out/stage2/checkpoint.pt" fewshot_lib/assets/warp_cpu64.pt 0.0       # the flow off
cp "$out/stage1/log.jsonl" fewshot_lib/assets/warp_cpu64.stage1.log.jsonl
cp "$out/stage2/log.jsonl" fewshot_lib/assets/warp_cpu64.stage2.log.jsonl
for warp in "$out/stage2.pt" fewshot_lib/assets/warp_cpu64.pt; do                # the choice, on validation people
  fewshot model-card fewshot_lib/assets/meta_cpu64.pt --warp "$warp" --targets 2 --validation
done
fewshot model-card fewshot_lib/assets/meta_cpu64.pt --warp fewshot_lib/assets/warp_cpu64.pt --targets 2
