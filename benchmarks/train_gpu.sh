#!/usr/bin/env bash
# The flagship run for a later session with a GPU: the 1-chip CIFAR-10 network of Eedn's
# Table 1 (paper: 83.41% on the chip) trained on ALL of CIFAR-10 (50,000 / 10,000).
#
#   benchmarks/train_gpu.sh                 # 1 GPU
#   NGPU=4 benchmarks/train_gpu.sh          # torchrun, DistributedDataParallel over 4 GPUs (nccl)
#   EPOCHS=50 benchmarks/train_gpu.sh       # a shorter schedule
#
# Environment: RAW (default datasets/raw) must hold cifar10/cifar-10-batches-py/ (the
# official python pickles; `--download` below fetches and checks them when the machine is
# online). Results: results/cifar10/1chip/ (train.json: hw_test_acc is the final figure).
set -euo pipefail
cd "$(dirname "$0")/.."

RAW=${RAW:-datasets/raw}
NGPU=${NGPU:-1}
EPOCHS=${EPOCHS:-150}
NET=${NET:-1chip}
DOWNLOAD=()
[ -d "$RAW/cifar10/cifar-10-batches-py" ] || DOWNLOAD=(--download)

python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this script needs a GPU')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

tnpipe prepare cifar10 --raw-root "$RAW" "${DOWNLOAD[@]}"

ARGS=(recipes/cifar10.toml --network "$NET" --device cuda --set "train.epochs=$EPOCHS" --resume)
start=$(date +%s)
if [ "$NGPU" -gt 1 ]; then
  torchrun --standalone --nproc-per-node "$NGPU" -m tnpipe train "${ARGS[@]}"
else
  tnpipe train "${ARGS[@]}"
fi
end=$(date +%s)

python - "$NET" "$((end - start))" <<'PY'
import json, sys
net, secs = sys.argv[1], int(sys.argv[2])
m = json.load(open(f"results/cifar10/{net}/train.json"))
print(f"cifar10 {net}: hw_test_acc {m['hw_test_acc']:.4f}  float_test_acc {m['float_test_acc']:.4f}  "
      f"agreement {m['agreement']:.4f}  epochs {m['epochs']}  {secs / 60:.1f} min  (paper: 0.8341 on the chip)")
PY
# then: tnpipe deploy results/cifar10/$NET   (chip simulation, cores, fps, mW)
