#!/usr/bin/env bash
# The flagship run: the 1-chip CIFAR-10 network of Eedn's Table 1 (paper: 83.41% on the chip)
# trained on ALL of CIFAR-10 (50,000 / 10,000) on one GPU, then deployed on the simulated chip.
# A schedule of EPOCHS epochs is trained over as many lent-GPU calls as it needs: each call
# trains for at most CALL_MIN minutes, resuming from the state the previous call returned, and
# returns the new state in $OUT. The call that completes the schedule also runs the statistics
# pass, export, hardware-mode test and the chip (deploy). Precision: train.precision=auto
# (per layer the faster of fp32 and a bf16 forward with fp32's backward, measured on the GPU at
# start-up; PRECISION=bf16 also rounds the backward; see tnpipe/nn/precision.py).
#
#   benchmarks/train_gpu.sh                                # 1chip, the recipe's 150 epochs
#   NET=1chip_paper benchmarks/train_gpu.sh                # the paper's schedule: 1280 epochs (250k
#                                                          # iterations at batch 256), SGD lr 20, thresholds at lr 2 (bias_lr_scale 0.1)
#   EPOCHS=40 CALL_MIN=7 benchmarks/train_gpu.sh           # a shorter schedule
#   PRECISION=fp32 EXTRA="--set train.lr=0.005" benchmarks/train_gpu.sh
#   NGPU=4 benchmarks/train_gpu.sh                         # torchrun DDP over 4 GPUs (nccl)
#
# Data: SOURCE = a CIFAR-10 class-folder tree (train/<class>/*.jpg, test/<class>/*.jpg), e.g. a
# copy of ../shared/data/cifar10-images (56.9 MB); without SOURCE, RAW/cifar10 must hold the
# official pickles (--download fetches them where the machine is online).
# On the lent device machine (which receives the repository only, not ../shared):
#   here, once:  echo /.devdata/ >> .git/info/exclude
#                mkdir -p .devdata/state && cp -r ../shared/data/cifar10-images .devdata/
#   each call:   command "SOURCE=.devdata/cifar10-images bash benchmarks/train_gpu.sh",
#                carry [".devdata"], timeout_s 590 (CALL_MIN 7 leaves ~2 min for the rest)
#   after it:    rm -f .devdata/state/*; cp FILES_AT/state.tar.xz.part-* .devdata/state/
#                (the state of a finished schedule is returned too; delete it to start over)
# State carried between calls: checkpoint.pt (weights, trinary weights, BN, optimiser state,
# RNG, epoch, history) + train.log, xz-compressed, in parts of <= 15 MiB (the tool returns
# files of 16 MiB at most). Measured for 1chip: 13.6 MiB with Adam (two moments per
# weight), 9.2 MiB with SGD momentum; a call carries 64 MiB in all, so with the 56.9 MB of
# images the Adam state does NOT fit and the SGD state only just: after packing, this script
# prints what the next call would carry and whether it fits (STATE_LIMIT_MB).
# Output ($OUT, or results/gpu-run; flat: the tool returns 8 files, 2 levels at most):
# run.log, cuda-tests.log (first call), state.tar.xz.part-*, and once finished train.json,
# result.json, summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

OUT=${OUT:-results/gpu-run}
NET=${NET:-1chip}
EPOCHS=${EPOCHS:-}              # empty: the recipe's [train.per_network.NET] epochs
CALL_MIN=${CALL_MIN:-7}         # training minutes in this call; the schedule resumes in the next
STATE=${STATE:-.devdata/state}  # the previous call's state.tar.xz.part-* (empty or absent: start)
STATE_LIMIT_MB=${STATE_LIMIT_MB:-67.1}  # 64 MiB: what one device call carries
BATCH=${BATCH:-}                # empty: the recipe's batch_size
PRECISION=${PRECISION:-auto}    # train.precision: auto (measured per layer), bf16, bf16_fwd, fp32, fp8 (sm >= 8.9)
NGPU=${NGPU:-1}
FRAMES=${FRAMES:-2000}          # test frames run on the simulated chip (all 10,000: FRAMES=0)
RAW=${RAW:-datasets/raw}
SOURCE=${SOURCE:-}
EXTRA=${EXTRA:-}
DEVICE=${DEVICE:-cuda}          # DEVICE=cpu: a dry run of this script's steps on a CPU machine
mkdir -p "$OUT"
WORK=${WORK:-/tmp/tnpipe-gpu}
export TNPIPE_PREPARED_ROOT="$WORK/prepared" TNPIPE_RESULTS_ROOT="$WORK/results"
RD="$TNPIPE_RESULTS_ROOT/cifar10/$NET"
exec > >(tee "$OUT/run.log") 2>&1

if [ "$DEVICE" = cuda ]; then
  python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this script needs a GPU (DEVICE=cpu for a dry run)')"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
fi
python -c "import torch, numba; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'numba', numba.__version__)"
t0=$(date +%s)

# 0. the state of the previous call, if any
RESUME=()
if compgen -G "$STATE/state.tar.xz.part-*" > /dev/null; then
  python - "$STATE" "$SOURCE" "$STATE_LIMIT_MB" <<'PY'
import sys
from pathlib import Path
state, source, limit = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
size = lambda p: sum(f.stat().st_size for f in Path(p).rglob("*") if f.is_file()) if p else 0
s, d = size(state), size(source)
print(f"carried: state {s / 1e6:.1f} MB + data {d / 1e6:.1f} MB = {(s + d) / 1e6:.1f} MB (limit {limit} MB)")
PY
  mkdir -p "$RD"
  cat "$STATE"/state.tar.xz.part-* | xz -dc | tar -x -C "$RD"
  RESUME=(--resume)
  echo "resuming from $STATE: $(python -c "import torch,sys; s=torch.load(sys.argv[1], weights_only=True); print(f\"epoch {s['epoch']}, finished {s['finished']}\")" "$RD/checkpoint.pt")"
else
  # 1. the suite's CUDA tests, on the first call only (they skip on CPU-only machines)
  python -m pytest -q -p no:cacheprovider tests/test_train.py tests/chip/test_simulator.py tests/nn/test_precision.py \
    -k "cuda or gpu" > "$OUT/cuda-tests.log" 2>&1 && echo "cuda tests: passed" || echo "cuda tests: FAILED (see cuda-tests.log)"
  tail -3 "$OUT/cuda-tests.log"
fi

# 2. prepare all of CIFAR-10 (the same files every call: the run key covers them)
if [ -n "$SOURCE" ]; then
  python -m tnpipe prepare cifar10 --source "$SOURCE"
else
  DOWNLOAD=()
  [ -d "$RAW/cifar10/cifar-10-batches-py" ] || DOWNLOAD=(--download)
  python -m tnpipe prepare cifar10 --raw-root "$RAW" "${DOWNLOAD[@]}"
fi
t1=$(date +%s)

# 3. train for at most CALL_MIN minutes of this call, resuming the schedule. A kill at the
#    slice's end loses at most the epoch in progress: checkpoint.pt is written atomically
#    after every epoch, and epoch e's data order comes from (seed, e) alone.
ARGS=(recipes/cifar10.toml --network "$NET" --device "$DEVICE" "${RESUME[@]}"
      --set train.time_budget_min=0 --set train.precision="$PRECISION" --set train.eval_batch_size=1000)
[ -n "$EPOCHS" ] && ARGS+=(--set train.epochs="$EPOCHS")
[ -n "$BATCH" ] && ARGS+=(--set train.batch_size="$BATCH")
[ "$DEVICE" = cuda ] && ARGS+=(--set train.threads=0)   # all host threads for the GPU run's CPU side
[ ${#RESUME[@]} -eq 0 ] && ARGS+=(--force)
# shellcheck disable=SC2206
ARGS+=($EXTRA)
SLICE_S=$(python -c "print(max(1, int(float('$CALL_MIN') * 60)))")
set +e
if [ "$NGPU" -gt 1 ]; then
  timeout -s TERM "$SLICE_S" torchrun --standalone --nproc-per-node "$NGPU" -m tnpipe train "${ARGS[@]}"
else
  timeout -s TERM "$SLICE_S" python -m tnpipe train "${ARGS[@]}"
fi
rc=$?
set -e
t2=$(date +%s)
if [ $rc -eq 124 ]; then
  echo "training slice of $CALL_MIN min spent: the schedule continues in the next call"
elif [ $rc -ne 0 ]; then
  echo "training FAILED (exit $rc)"
fi

# 4. the state for the next call (also after the last one: it holds the finished checkpoint)
if [ -f "$RD/checkpoint.pt" ]; then
  rm -f "$OUT"/state.tar.xz.part-*
  tar -C "$RD" -c checkpoint.pt train.log | xz -T0 -6 | split -b 15M -d - "$OUT/state.tar.xz.part-"
  python - "$OUT" "$SOURCE" "$STATE_LIMIT_MB" "$RD/checkpoint.pt" <<'PY'
import sys
from pathlib import Path
import torch
out, source, limit, ckpt = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
s = sum(f.stat().st_size for f in out.glob("state.tar.xz.part-*"))
d = sum(f.stat().st_size for f in Path(source).rglob("*") if f.is_file()) if source else 0
c = torch.load(ckpt, weights_only=True)
print(f"state after epoch {c['epoch']} (finished {c['finished']}): {s / 1e6:.1f} MB in "
      f"{len(list(out.glob('state.tar.xz.part-*')))} part(s); next call carries {(s + d) / 1e6:.1f} MB with the data "
      f"(limit {limit} MB): {'fits' if s + d <= limit * 1e6 else 'TOO LARGE for one device call'}")
PY
fi
[ $rc -eq 0 ] || exit 0   # not finished (or failed): nothing to deploy yet

cp "$RD/train.json" "$OUT/"
# 5. the chip: map, simulate FRAMES test frames, energy model
DEPLOY_ARGS=(--device "$DEVICE")
[ "$FRAMES" -gt 0 ] && DEPLOY_ARGS+=(--frames "$FRAMES")
python -m tnpipe deploy "$RD" "${DEPLOY_ARGS[@]}" || echo "deploy FAILED"
[ -f "$RD/result.json" ] && cp "$RD/result.json" "$OUT/"
t3=$(date +%s)

python - "$NET" "$RD" "$((t1 - t0))" "$((t2 - t1))" "$((t3 - t2))" <<'PY' | tee "$OUT/summary.txt"
import json, sys
from pathlib import Path
net, rd, prep_s, train_s, deploy_s = sys.argv[1], Path(sys.argv[2]), *map(int, sys.argv[3:])
m = json.loads((rd / "train.json").read_text())
minutes = sum(h["seconds"] for h in m["history"]) / 60
line = (f"cifar10 {net}: hw_test_acc {m['hw_test_acc']:.4f}  float_test_acc {m['float_test_acc']:.4f}  "
        f"agreement {m['agreement']:.4f}  epochs {m['epochs']}  training {minutes:.1f} min over all calls "
        f"(this call {train_s / 60:.1f} min)  prepare {prep_s} s  batch {m['train']['batch_size']}  "
        f"precision {m['train'].get('precision')}  (paper: 0.8341 on the chip)")
r = rd / "result.json"
if r.is_file():
    res = json.loads(r.read_text())
    line += (f"\nchip: accuracy {res['accuracy_chip']:.4f} on {res['frames']} frames, agreement with the graph "
             f"{res['agreement']:.4f}, {res['cores']} cores, deploy {deploy_s} s")
print(line)
PY
