#!/usr/bin/env bash
# The one-call GPU benchmark for a session that gets a Linux NVIDIA GPU (H200): ours beside PyTorch (CUDA) and TF.js, default then large sizes.
# Prepare on the CPU machine (no GPU needed), from the project root:
#   node bench/build-node.mjs && ../shared/tools/gpu-pack bench/dist/bench-node.mjs --cifar ../shared/cifar10
#   (the CIFAR-10 sample: the default part runs the seed's sweep, ours and PyTorch's, on it)
# then one device call: run(command="bash bench/gpu-run.sh", carry=[".gpu"], timeout_s=600).
# Each part has its own `timeout`; the whole fits 9 minutes. At most 8 files land in $OUT:
#   adapter.json, nvidia-smi.txt, default.txt (+ its JSON last line), large.txt (+ JSON), toggles.txt (+ JSON), log.txt
# `bash bench/gpu-run.sh kernels` (issue 23) measures the kernel variants instead, also within 9 minutes: the adapter's
# features and limits (adapter.json, printed), then matmul at 1024³-8192³ in the three layouts with the auto plan and,
# from 4096³, each variant forced (tile128k16, tile128, tile64, vec4; --detail), and batchnorm backward at 4096x1024,
# 16384x4096, 65536x1024 and 1024x65536 with the auto layout and each layout forced (chunks, fused, split), beside
# PyTorch: kernels-matmul.txt, kernels-bn.txt (each + its JSON last line), log.txt.
# `bash bench/gpu-run.sh populations` (issue 23, item 4) profiles a population step instead, also within 9 minutes: the
# adapter (adapter.json), then one step of 20, 100 and 1000 [50]x7 batchnorm nets dispatch by dispatch (kernel, grid,
# invocations, bytes bound, each launch's GPU time in its own pass; profile.txt + its JSON last line), then the
# population section at 1 to 1000 nets beside PyTorch's stacked bmm (populations.txt + JSON), log.txt.
# The PyTorch peer runs `python3` (PyTorch with CUDA there) on bench/peers/torch-peer.py from the working tree.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-run-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
[[ -x .gpu/run.sh ]] || { echo "gpu-run: .gpu/ is missing: run gpu-pack first and carry .gpu" >&2; exit 2; }
log=$OUT/log.txt
part() { # part NAME SECONDS ARGS...: one bench run, its stdout to $OUT/NAME, its stderr appended to log.txt
  local name=$1 limit=$2
  shift 2
  echo "== $name ($(date -u +%T), limit ${limit}s): $*" | tee -a "$log"
  timeout --signal=KILL "$limit" bash .gpu/run.sh "$@" > "$OUT/$name" 2>> "$log"
  echo "== $name exit $?" | tee -a "$log"
}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$OUT/nvidia-smi.txt" 2>&1
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' >> "$OUT/nvidia-smi.txt" 2>&1
part adapter.json 60 --adapter
cat "$OUT/adapter.json"
if [[ "${1:-}" == kernels ]]; then
  part kernels-matmul.txt 300 --only matmul --sizes large --detail --peers torch --json --reps 5
  part kernels-bn.txt 120 --only bn --sizes large --detail --peers torch --json --reps 10
  grep -v '^{' "$OUT/kernels-matmul.txt" "$OUT/kernels-bn.txt" | tail -n 80
  exit 0
fi
if [[ "${1:-}" == populations ]]; then
  part profile.txt 180 --only population-profile --models 20,100,1000 --json --reps 5
  part populations.txt 300 --only population --sizes large --peers torch --json --reps 5
  grep -E '^ *([0-9]+|#) ' "$OUT/profile.txt" | cut -c1-112 # every launch (the files keep the labels)
  grep -h 'population step profile' "$OUT/profile.txt"
  grep -v '^{' "$OUT/populations.txt" | tail -n 30
  exit 0
fi
part default.txt 150 --peers torch,tfjs --json
part large.txt 270 --sizes large --peers torch,tfjs --json --reps 5
part toggles.txt 60 --only matmul,training --dawn-enable skip_validation,disable_robustness --json
tail -n 60 "$OUT/default.txt" "$OUT/large.txt" | grep -v '^{' | head -n 120
