"""Training benchmark: Eedn's constrained training speed vs plain float, and the `cpu`
network's hardware-mode accuracy on the real CIFAR-10 subset.

    python benchmarks/train.py                     # both parts, CPU (+ CUDA speed if present)
    python benchmarks/train.py --skip-accuracy     # speed only (~1 minute)

Part 1 (speed): the recipe's network built twice, the Eedn way (trinary hidden weights with
hysteresis, batch norm without scale, binary spikes with the triangle derivative, votes) and
as an ordinary float CNN of the same architecture (float weights, nn.BatchNorm2d, ReLU, the
same vote read-out); training images/s of each, measured in alternating rounds in the same
process so both see the same machine load. ratio = Eedn / float. On CPU the Eedn step uses
the numba kernels of tnpipe.nn.fused_cpu; the same timing with the torch-op rules is printed
beside it for the record.

Part 2 (accuracy): `tnpipe train recipes/cifar10.toml --network cpu` on the real subset
(10,000 train / 2,000 test, prepared from /work/shared/data/cifar10 into a temporary
prepared root), timed wall clock. Reported: the HARDWARE-MODE test accuracy.

Last line: ratio=R cpu_acc=A minutes=M
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tnpipe.netspec import parse_network  # noqa: E402
from tnpipe.nn import fused_cpu  # noqa: E402
from tnpipe.nn.network import EednNet  # noqa: E402
from tnpipe.recipe import load_recipe  # noqa: E402


class FloatNet(nn.Module):
    """The same layer geometry as an ordinary CNN: float weights, BatchNorm2d, ReLU."""

    def __init__(self, spec, class_of_feature: torch.Tensor):
        super().__init__()
        layers = []
        for ls in spec.layers:
            layers += [nn.Conv2d(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding,
                                 groups=ls.groups, bias=False), nn.BatchNorm2d(ls.out_channels), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.register_buffer("assign", F.one_hot(class_of_feature, spec.num_classes).float())

    def forward(self, x):
        # channels-last, as EednNet does: both get the faster oneDNN convolutions
        return self.body(x.contiguous(memory_format=torch.channels_last)).sum(dim=(2, 3)) @ self.assign


def images_per_second(text: str, input_shape, classes: int, device: str, batch: int = 64, rounds: int = 5,
                      steps: int = 4) -> tuple[float, float]:
    torch.manual_seed(0)
    spec = parse_network(text, input_shape, classes)
    eedn = EednNet(spec, dropout=0.0).to(device)
    flt = FloatNet(spec, eedn.readout.class_of_feature.cpu()).to(device)
    x = torch.randn(batch, *input_shape, device=device)
    y = torch.randint(0, classes, (batch,), device=device)
    opt_e = torch.optim.Adam(eedn.parameters(), 1e-3)
    opt_f = torch.optim.Adam(flt.parameters(), 1e-3)

    def step_eedn():
        loss = F.cross_entropy(eedn(x) * 0.01, y)
        opt_e.zero_grad()
        loss.backward()
        opt_e.step()
        eedn.update_trinary()  # clip + hysteresis: part of every Eedn step

    def step_float():
        loss = F.cross_entropy(flt(x) * 0.01, y)
        opt_f.zero_grad()
        loss.backward()
        opt_f.step()

    def timed(fn) -> float:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return batch * steps / (time.perf_counter() - t)

    step_eedn()
    step_float()  # warm-up
    e, f = [], []
    for _ in range(rounds):  # alternate, so both see the same load
        e.append(timed(step_eedn))
        f.append(timed(step_float))
    return statistics.median(e), statistics.median(f)


def cpu_accuracy(recipe: Path, network: str, data_root: Path, work: Path, overrides: list[str]) -> tuple[float, float, dict]:
    os.environ["TNPIPE_PREPARED_ROOT"] = str(work / "prepared")
    os.environ["TNPIPE_RESULTS_ROOT"] = str(work / "results")
    from tnpipe.prepare import prepare
    from tnpipe.train import train

    prepare("cifar10", raw_root=data_root)
    t0 = time.perf_counter()
    rd = train(recipe, network, overrides=overrides, force=True).path
    minutes = (time.perf_counter() - t0) / 60
    meta = json.loads((rd / "train.json").read_text())
    return meta["hw_test_acc"], minutes, meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", type=Path, default=REPO / "recipes" / "cifar10.toml")
    ap.add_argument("--network", default="cpu")
    ap.add_argument("--speed-network", default="cpu", help="network whose training speed is compared")
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--work", type=Path, default=None, help="prepared/results folder (default: a temporary one)")
    args = ap.parse_args()

    recipe = load_recipe(args.recipe)
    text = recipe.network(args.speed_network)
    shape, classes = (3, 32, 32), 10
    threads = recipe.train.for_network(args.network).threads or torch.get_num_threads()
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}; load average {os.getloadavg()[0]:.2f}")
    ratio = None
    for th in sorted({threads, os.cpu_count() or 1}):
        torch.set_num_threads(th)
        e, f = images_per_second(text, shape, classes, "cpu")
        fused_cpu.ENABLED = False   # the same step with the torch-op rules, for the record
        try:
            e_ops, f_ops = images_per_second(text, shape, classes, "cpu")
        finally:
            fused_cpu.ENABLED = True
        if torch.get_num_threads() != th:
            raise SystemExit(f"torch's thread count changed during the timing ({th} -> {torch.get_num_threads()})")
        print(f"speed cpu  {args.speed_network} ({th} thread{'s' if th > 1 else ''}): eedn {e:.1f} img/s  "
              f"float {f:.1f} img/s  ratio {e / f:.3f}   (torch-op rules instead of the numba kernels: "
              f"eedn {e_ops:.1f} float {f_ops:.1f} ratio {e_ops / f_ops:.3f})   [{text}]")
        if th == threads:
            ratio = e / f  # the last line reports the thread count training uses
    if torch.cuda.is_available():
        one = recipe.network("1chip")
        ec, fc = images_per_second(one, shape, classes, "cuda", batch=128, rounds=5, steps=10)
        print(f"speed cuda 1chip: eedn {ec:.1f} img/s  float {fc:.1f} img/s  ratio {ec / fc:.3f}")
    acc, minutes = float("nan"), 0.0
    if not args.skip_accuracy:
        work = args.work or Path(tempfile.mkdtemp(prefix="tnpipe-bench-train-"))
        acc, minutes, meta = cpu_accuracy(args.recipe, args.network, args.data_root, work, args.overrides)
        print(f"cpu network {args.network!r}: hw_test_acc {acc:.4f}  float_test_acc {meta['float_test_acc']:.4f}  "
              f"agreement {meta['agreement']:.4f}  epochs {meta['epochs']}  ({minutes:.1f} min wall clock, "
              f"{meta['test_frames']} test frames)  run dir {work}")
    print(f"ratio={ratio:.3f} cpu_acc={acc:.4f} minutes={minutes:.1f}")


if __name__ == "__main__":
    main()
