"""Why the paper's SGD at lr 20 needs the thresholds slowed (train.bias_lr_scale): gradient rms
per parameter group at initialisation, and short SGD probes with per-group lr multipliers.

    python benchmarks/sgd_probe.py --grads                    # gradient rms per group (10 batches)
    python benchmarks/sgd_probe.py --bias 1 --steps 300       # the paper's settings as written: chance
    python benchmarks/sgd_probe.py --bias 0.1 --steps 300     # the cpu_paper recipe's choice
    python benchmarks/sgd_probe.py --bias 0.1 --transduction 0.001 --loss-scale 2

The `cpu_paper` network of recipes/cifar10.toml (the `cpu` network, hysteresis 0.1) on the real CIFAR-10 subset, prepared with `tnpipe
prepare cifar10` into TNPIPE_PREPARED_ROOT (or --prepared FOLDER). SGD momentum 0.9, lr 20 x
loss scale, weight decay 1e-7 on the weights, batch 32, seed 0, 1 thread; prints the training
loss and accuracy of every 100 steps. Results: benchmarks/RESULTS.md, "## train", session 4.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tnpipe import paths  # noqa: E402
from tnpipe.netspec import parse_network  # noqa: E402
from tnpipe.nn.inputs import channel_stats, to_float_nchw  # noqa: E402
from tnpipe.nn.network import EednNet  # noqa: E402
from tnpipe.recipe import load_recipe  # noqa: E402
from tnpipe.train import schedule  # noqa: E402


def load(prepared: Path) -> tuple[torch.Tensor, torch.Tensor]:
    if not (prepared / "x_train.npy").is_file():
        raise SystemExit(f"{prepared}: no x_train.npy; run `tnpipe prepare cifar10` first (or give --prepared)")
    x = to_float_nchw(np.load(prepared / "x_train.npy"))
    return x, torch.from_numpy(np.load(prepared / "y_train.npy")).long()


def build(x: torch.Tensor) -> tuple[EednNet, float]:
    spec = parse_network(load_recipe(REPO / "recipes" / "cifar10.toml").network("cpu_paper"), tuple(x.shape[1:]), 10)
    torch.manual_seed(0)
    model = EednNet(spec, dropout=0.5, hysteresis=0.1, init_scale=1.0)
    mean, std = channel_stats(x)
    model.in_mean.copy_(mean)
    model.in_std.copy_(std)
    return model, 8.0 / spec.votes_per_class


def groups(model: EednNet) -> dict[str, list[torch.nn.Parameter]]:
    return {"transduction": [model.transduction.conv.weight],
            "hidden": [layer.conv.hidden for layer in model.chip],
            "bias": [layer.bn.bias for layer in model.spiking_layers()]}


def grad_rms(model: EednNet, scale: float, x: torch.Tensor, y: torch.Tensor, batches: int = 10) -> None:
    sums: dict[str, np.ndarray] = {}
    for b in range(batches):
        model.zero_grad()
        schedule.loss_fn(model(x[b * 32:(b + 1) * 32]), y[b * 32:(b + 1) * 32], scale).backward()
        for name, params in groups(model).items():
            rms = np.array([float(p.grad.pow(2).mean().sqrt()) for p in params])
            sums[name] = sums.get(name, 0) + rms / batches
    for name, rms in sums.items():
        print(f"{name:<13} gradient rms {rms.min():.2e}-{rms.max():.2e}  -> SGD step at lr 20, momentum 0.9: "
              f"{20 * rms.min() / 0.1:.3f}-{20 * rms.max() / 0.1:.3f}")


def probe(model: EednNet, scale: float, x: torch.Tensor, y: torch.Tensor, args: argparse.Namespace) -> None:
    lr = 20.0 * args.loss_scale
    g = groups(model)
    opt = torch.optim.SGD([{"params": g["transduction"], "lr": lr * args.transduction, "weight_decay": 1e-7},
                           {"params": g["hidden"], "lr": lr, "weight_decay": 1e-7},
                           {"params": g["bias"], "lr": lr * args.bias}], lr=lr, momentum=0.9)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    t0, correct, seen, loss_sum = time.time(), 0, 0, 0.0
    for step in range(args.steps):
        start = (step * 32) % (len(x) // 32 * 32)
        idx = order[start:start + 32]
        votes = model(x[idx])
        loss = schedule.loss_fn(votes, y[idx], scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.update_trinary()
        hits = int((votes.detach().argmax(1) == y[idx]).sum())
        correct, seen, loss_sum = correct + hits, seen + 32, loss_sum + float(loss.detach()) * 32
        if (step + 1) % 100 == 0 or step + 1 == args.steps:
            print(f"bias x {args.bias} transduction x {args.transduction} loss scale {args.loss_scale}: step {step + 1} "
                  f"loss {loss_sum / seen:.3f} train acc {correct / seen:.3f} ({time.time() - t0:.0f} s)", flush=True)
            correct, seen, loss_sum = 0, 0, 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prepared", type=Path, default=None, help="prepared cifar10 folder (default: TNPIPE_PREPARED_ROOT's)")
    ap.add_argument("--grads", action="store_true", help="print the gradient rms per group and exit")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--bias", type=float, default=1.0, help="the thresholds' lr multiplier")
    ap.add_argument("--transduction", type=float, default=1.0, help="the transduction weights' lr multiplier")
    ap.add_argument("--loss-scale", type=float, default=1.0, help="s: SGD on s x loss at lr 20 = lr 20 s")
    args = ap.parse_args()
    torch.set_num_threads(1)
    x, y = load(args.prepared or paths.prepared_dir("cifar10", synthetic=False))
    model, scale = build(x)
    if args.grads:
        grad_rms(model, scale, x, y)
    else:
        probe(model, scale, x, y, args)


if __name__ == "__main__":
    main()
