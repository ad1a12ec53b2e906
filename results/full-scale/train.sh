#!/usr/bin/env bash
# The full-scale run (issue 19): the paper's 1-chip network on all 50,000 CIFAR-10 images,
# two DDP processes of one thread each (gloo), bf16 on-chip products (measured fastest here).
set -euo pipefail
cd /work/wt-run
. /work/main/.venv/bin/activate
export PYTHONPATH=/work/wt-run TNPIPE_PREPARED_ROOT=/work/fullscale/prepared TNPIPE_RESULTS_ROOT=/work/fullscale/results
exec torchrun --nproc-per-node 2 --master-port 29611 -m tnpipe train recipes/cifar10.toml --network 1chip \
  --set train.epochs=${EPOCHS:-12} --set train.precision=bf16 "$@"
