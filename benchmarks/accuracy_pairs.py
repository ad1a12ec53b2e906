"""Paired accuracy runs: two training arms at once, 1 torch thread each, on the real CIFAR-10
subset, so both arms see the same machine load; prints both hardware-mode test accuracies.

    python benchmarks/accuracy_pairs.py before recipe             # the 12-minute pair: (a)
    python benchmarks/accuracy_pairs.py before paper              # (b)
    python benchmarks/accuracy_pairs.py before paper --budget-min 1   # an end-to-end check
    python benchmarks/accuracy_pairs.py recipe "set:train.hysteresis=0.05"
    python benchmarks/accuracy_pairs.py --list

Each arm is `tnpipe train recipes/cifar10.toml --network NET --force --set
train.time_budget_min=B --set train.threads=1 [its own --set ...]` in its own process and
its own results root (WORK/ARM/results); the prepared subset (10,000 train / 2,000 test from
../shared/data/cifar10) is shared and prepared once. Reported per arm: the HARDWARE-MODE test
accuracy on the full 2,000-image test split (train.json's hw_test_acc), float-graph accuracy,
graph/hardware agreement, epochs and wall clock. A run of the 12-minute budget takes ~15
minutes (statistics pass, export and tests follow the budget); both arms use one core each,
so run pairs on an otherwise quiet 2-core machine.

Arms (`--list`): named presets below, or `set:K=V[,K=V...]` for any --set values on the
recipe's `cpu` network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# name -> (network, --set values, extra environment, what it is)
ARMS: dict[str, tuple[str, list[str], dict[str, str], str]] = {
    "recipe": ("cpu", [], {}, "(a) the recipe's cpu network at the fastest exact setting, now its default "
                              "(fp32, N/P layers as matrix products, numba kernels)"),
    "before": ("cpu", [], {"TNPIPE_MATMUL_CPU": "0"},
               "the current recipe as trained before issue 14 (oneDNN convolutions for every layer): "
               "the same math, fewer steps in the budget"),
    "paper": ("cpu_paper", [], {}, "(b) the paper's optimiser and schedule: SGD momentum 0.9, lr 20, /10 at "
                                   "0.8 and 0.9 of training, sparsity 1e-4, weight decay 1e-7 (recipe network cpu_paper)"),
    "h01": ("cpu", ["train.hysteresis=0.1"], {}, "the paper's hysteresis 0.1 on the cpu network (the recipe before session 4)"),
    "h05": ("cpu", ["train.hysteresis=0.05"], {}, "(c) hysteresis 0.05: half the paper's dead band"),
    "lr04": ("cpu", ["train.lr=0.04"], {}, "(c) Adam lr 0.04: the lr trend 0.01 -> 0.03 had not flattened"),
    "flipcrop": ("cpu", ["train.augment=flipcrop"], {}, "(c) flips + 4-pixel crops ([CVPR17]: +1.5 points)"),
}


def parse_arm(name: str) -> tuple[str, list[str], dict[str, str]]:
    if name.startswith("set:"):
        return "cpu", [kv for kv in name[4:].split(",") if kv], {}
    if name not in ARMS:
        raise SystemExit(f"arm {name!r}: not one of {', '.join(ARMS)} (or set:K=V,...)")
    net, sets, env, _ = ARMS[name]
    return net, list(sets), dict(env)


def start(arm: str, index: int, recipe: Path, budget: float, work: Path) -> tuple[subprocess.Popen, Path]:
    net, sets, env_extra = parse_arm(arm)
    root = work / f"{index}-{arm.replace(':', '_').replace('=', '_').replace(',', '_')}"
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TNPIPE_PREPARED_ROOT=str(work / "prepared"), TNPIPE_RESULTS_ROOT=str(root / "results"),
               PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", **env_extra)
    cmd = [sys.executable, "-m", "tnpipe", "train", str(recipe), "--network", net, "--force",
           "--set", f"train.time_budget_min={budget}", "--set", "train.threads=1"]
    for kv in sets:
        cmd += ["--set", kv]
    log = open(root / "train.out", "w")
    print(f"arm {index} {arm}: {' '.join(cmd[1:])}" + "".join(f"  [{k}={v}]" for k, v in env_extra.items()), flush=True)
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO), root / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("arms", nargs="*", default=["before", "recipe"])
    ap.add_argument("--budget-min", type=float, default=12.0, help="each arm's training wall-clock budget")
    ap.add_argument("--recipe", type=Path, default=REPO / "recipes" / "cifar10.toml")
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tnpipe-pairs"))
    ap.add_argument("--list", action="store_true", help="print the named arms and exit")
    args = ap.parse_args()
    if args.list:
        for k, (net, sets, env, what) in ARMS.items():
            print(f"{k:<9} --network {net} {' '.join('--set ' + s for s in sets)}{' ' if sets else ''}"
                  f"{' '.join(f'{a}={b}' for a, b in env.items())}\n          {what}")
        return
    if len(args.arms) != 2:
        raise SystemExit(f"give two arms (got {len(args.arms)}): a pair runs side by side on the 2 cores")
    for a in args.arms:
        parse_arm(a)
    os.environ["TNPIPE_PREPARED_ROOT"] = str(args.work / "prepared")
    sys.path.insert(0, str(REPO))
    from tnpipe.prepare import prepare

    prepare("cifar10", raw_root=args.data_root)
    t0 = time.time()
    procs = [start(a, i, args.recipe, args.budget_min, args.work) for i, a in enumerate(args.arms)]
    codes = [p.wait() for p, _ in procs]
    print(f"pair done in {(time.time() - t0) / 60:.1f} min; load average {os.getloadavg()[0]:.2f}")
    for i, (arm, code, (_, results)) in enumerate(zip(args.arms, codes, procs, strict=True)):
        net = parse_arm(arm)[0]
        meta_path = results / "cifar10" / net / "train.json"
        if code != 0 or not meta_path.is_file():
            print(f"arm {i} {arm}: FAILED (exit {code}); see {results.parent / 'train.out'}")
            continue
        m = json.loads(meta_path.read_text())
        print(f"arm {i} {arm}: hw_test_acc {m['hw_test_acc']:.4f}  float_test_acc {m['float_test_acc']:.4f}  "
              f"agreement {m['agreement']:.4f}  epochs {m['epochs']}  ({m['test_frames']} test frames, "
              f"{m['seconds'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
