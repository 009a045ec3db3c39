#!/usr/bin/env bash
# What a session lent a GPU (15 minutes, one call of at most 10) runs there, in one call:
# tools/gpu_check.py, then the warping generator (notebook 10) trained from the shipped file until the call's time
# is spent; everything worth keeping is copied into $OUT (at most 8 files come back). Session 6 ran this.
#
#   bash tools/gpu_session.sh                          # on the GPU machine, from the repository root
#   DEVICE=cpu LIMIT=150 WORKERS=2 SKIP_INSTALL=1 OUT=/tmp/out bash tools/gpu_session.sh   # try it here first
#
# The GPU image has torch but not the C2PA signer the training samples need: carry its wheels in .whl/
# (c2pa-python, cryptography, cffi, pycparser, toml; /work/.library/device/README.md says how to download them).
# Then export the weights that came back: data/README.md, "The committed warping generator".
set -u
device=${DEVICE:-cuda}; limit=${LIMIT:-585}; workers=${WORKERS:-14}
init=${INIT:-fewshot_lib/assets/warp_cpu64.pt}     # a warping checkpoint goes on with its F and β
max_flow=${MAX_FLOW:-0.25}                          # F's flow bound while training (0: the shipped file's, flow off)
[ -n "${SKIP_INSTALL:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 FEWSHOT_SMOKE=0 FEWSHOT_OFFLINE=1 FEWSHOT_HOME=/tmp/fewshot_home
rm -rf /tmp/gpu /tmp/warp
if [ "$device" = cuda ]; then
  python3 tools/gpu_check.py --out /tmp/gpu
else
  python3 tools/gpu_check.py --out /tmp/gpu --smoke --only env syncs
fi
for f in bench.jsonl syncs.json curves.json curves.png log.txt; do [ -f /tmp/gpu/$f ] && cp /tmp/gpu/$f "$OUT/gpu_$f"; done
left=$(( limit - SECONDS - 25 ))                     # 25 s to export and copy
echo "== warping generator: ${left} s of training from ${init}"
[ "$left" -gt 40 ] || exit 0
timeout -s KILL "$left" python3 -m fewshot_lib train --model warp --init "$init" --preset cpu64 --data synthetic \
  --out /tmp/warp --lr-g 2e-4 --lr-d 4e-4 --match-weight 0.1 --precision fp32 --log-every 25 --sample-every 1000 \
  --checkpoint-every 200 --steps 100000 --max-flow "$max_flow" --device "$device" --num-workers "$workers" \
  > /tmp/warp.txt 2>&1
tr '\r' '\n' < /tmp/warp.txt | grep -v "^meta-learning:" | head -12
tr '\r' '\n' < /tmp/warp.txt | tail -1
python3 -c "from fewshot_lib.train.networks import export_weights; export_weights('/tmp/warp/checkpoint.pt', '$OUT/warp.pt')"
cp /tmp/warp/log.jsonl "$OUT/warp_log.jsonl"
last=$(ls /tmp/warp/samples/*.png 2>/dev/null | tail -1); [ -n "$last" ] && cp "$last" "$OUT/warp_sample.png"
echo "== done at ${SECONDS} s"
