"""Training benchmark: Eedn's training speed against plain fp32 float, layer by layer and per
step, the fraction of the machine's matrix-product rate reached, and the `cpu` network's
hardware-mode accuracy on the real CIFAR-10 subset.

    python benchmarks/train.py                     # all parts, CPU (+ CUDA speed if present)
    python benchmarks/train.py --skip-accuracy     # speed only (a few minutes)

Part 0 (machine): fp32, bf16 and int8 (torch._int_mm, where this torch has it) matrix-product
rates (G(FL)OP/s, square matrices) measured in this run, at the training thread count: the
ceilings.

Part 1 (layers): train.precision = auto's probe (tnpipe/nn/probe.py), measured afresh in this
run (a temporary cache folder): every on-chip layer shape's forward + backward ms per image in
fp32 / bf16_fwd / int8 / bf16 as training runs them, and the arithmetic auto (and auto_bf16)
picks per layer.

Part 2 (steps): for each speed network (recipes/cifar10.toml), training images/s of
    float        the plain fp32 network a user would write: NCHW, float weights,
                 nn.BatchNorm2d + ReLU, the same vote read-out, Adam
    eedn today   Eedn as trained before issue 14: fp32, channels-last, numba kernels
    eedn fp32    fp32 with the N/P layers as matrix products (auto before issue 18)
    eedn auto    training's default: train.precision=auto, the probe's choice per layer among
                 fp32 / bf16_fwd / int8 (all with fp32's backward)
    eedn bf16_fwd every on-chip layer's forward in bf16 (exact), fp32 backward
    eedn int8    the N/P layers' forward in int8 (exact), fp32 backward, where torch._int_mm works
    eedn bf16    every on-chip layer bf16, backward too (gradients rounded to bf16): NOT a
                 candidate of auto until paired accuracy runs show it trains as well; timed to
                 show what it would add
    eedn auto_bf16  the opt-in auto with bf16 among the candidates
    eedn fp8     on CUDA with fp8 products (compute capability >= 8.9): the fp8 experiment
in alternating rounds in one process (median), so all arms see the same load. FLOPs per image are the convolutions' products
(forward, plus two transposed products backward; the transduction layer has no input
gradient) from the network's shapes.

Part 3 (accuracy): `tnpipe train recipes/cifar10.toml --network cpu` on the real subset
(10,000 train / 2,000 test, prepared from ../shared/data/cifar10 into a temporary prepared
root), timed wall clock; reported: the HARDWARE-MODE test accuracy.

Last line: ratio=R cpu_acc=A minutes=M, with R = `eedn auto`'s images/s over the plain fp32
float network's, on `1chip` (medians of the alternating rounds).
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
from tnpipe.nn import fp8, precision, probe  # noqa: E402
from tnpipe.nn.network import EednNet  # noqa: E402
from tnpipe.recipe import load_recipe  # noqa: E402

SHAPE, CLASSES = (3, 32, 32), 10


class FloatNet(nn.Module):
    """The same layer geometry as an ordinary CNN: float weights, BatchNorm2d, ReLU, NCHW."""

    def __init__(self, spec, class_of_feature: torch.Tensor):
        super().__init__()
        layers = []
        for ls in spec.layers:
            layers += [nn.Conv2d(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding,
                                 groups=ls.groups, bias=False), nn.BatchNorm2d(ls.out_channels), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.register_buffer("assign", F.one_hot(class_of_feature, spec.num_classes).float())

    def forward(self, x):
        return self.body(x).sum(dim=(2, 3)) @ self.assign


def flops_per_image(spec) -> tuple[float, float]:
    """(forward, training) FLOPs of the convolutions per image: 2 per multiply-add."""
    fwd = train = 0.0
    for ls in spec.layers:
        f = 2.0 * ls.out_hw[0] * ls.out_hw[1] * ls.out_channels * ls.fan_in
        fwd += f
        train += f * (3 if ls.on_chip else 2)   # + dL/dw and dL/dx (none for the transduction input)
    return fwd, train


def _median_ms(fn, reps: int = 3) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def matmul_rates() -> dict[str, float]:
    """G(FL)OP/s of a square matrix product in fp32, bf16 and int8 (torch._int_mm, int32
    sums; where this torch has it): n doubled from 128 until one product takes >= 50 ms (or
    n = 2048), so a slow (emulated) unit is not timed for minutes."""
    arms = [("fp32", torch.float32, torch.matmul), ("bf16", torch.bfloat16, torch.matmul)]
    if precision.int8_supported():
        arms.append(("int8", torch.int8, torch._int_mm))
    out = {}
    for name, dtype, mm in arms:
        n = 128
        while True:
            a, b = torch.randint(-1, 2, (n, n)).to(dtype), torch.randint(-1, 2, (n, n)).to(dtype)
            ms = _median_ms(lambda a=a, b=b, mm=mm: mm(a, b))
            if ms >= 50 or n >= 2048:
                break
            n *= 2
        out[name] = 2.0 * n ** 3 / (ms * 1e-3) / 1e9
    return out


def _eedn_step(model, opt, x, y):
    loss = F.cross_entropy(model(x) * 0.01, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if isinstance(model, EednNet):
        model.update_trinary()  # clip + hysteresis: part of every Eedn step


def step_rates(text: str, device: str, arms: dict[str, tuple[str, bool, int]], batch: int = 64, rounds: int = 5,
               steps: int = 3, choices=None) -> dict[str, float]:
    """images/s of the float network and of each Eedn arm {label: (precision, matrix-product
    path for N/P layers, NCHW_MIN_GROUPS)}, in alternating rounds (median); `choices`: the
    probe's PrecisionChoice per auto setting."""
    spec = parse_network(text, SHAPE, CLASSES)
    models, matmul = {}, {}
    fast_paths = (precision.MATMUL_CPU, precision.NCHW_MIN_GROUPS)   # the defaults, restored after each arm
    for label, (p, mm, nchw_groups) in arms.items():
        torch.manual_seed(0)
        models[label] = EednNet(spec, dropout=0.0).to(device)
        models[label].set_precision(p, device, (choices or {}).get(p))
        matmul[label] = (mm, nchw_groups)
    torch.manual_seed(0)
    models["float"] = FloatNet(spec, next(iter(models.values())).readout.class_of_feature.cpu()).to(device)
    matmul["float"] = (False, 0)
    opts = {k: torch.optim.Adam(m.parameters(), 1e-3) for k, m in models.items()}
    x = torch.randn(batch, *SHAPE, device=device)
    y = torch.randint(0, CLASSES, (batch,), device=device)

    def run(k: str, n: int) -> None:
        precision.MATMUL_CPU, precision.NCHW_MIN_GROUPS = matmul[k]
        try:
            for _ in range(n):
                _eedn_step(models[k], opts[k], x, y)
        finally:
            precision.MATMUL_CPU, precision.NCHW_MIN_GROUPS = fast_paths

    def timed(k: str) -> float:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        run(k, steps)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return batch * steps / (time.perf_counter() - t)

    for k in models:   # warm-up (oneDNN primitives, numba compilation)
        run(k, 1)
    rates: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(rounds):
        for k in models:
            rates[k].append(timed(k))
    return {k: statistics.median(v) for k, v in rates.items()}


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


def probe_table(spec, device: str, batch: int):
    """auto's probe for this network, measured now (a temporary cache) with every candidate of
    auto_bf16, printed per layer; -> the choices of 'auto' and 'auto_bf16' from those times."""
    with tempfile.TemporaryDirectory(prefix="tnpipe-probe-") as tmp:
        old = os.environ.get(probe.CACHE_ENV)
        os.environ[probe.CACHE_ENV] = tmp
        try:
            wide = probe.choose(spec, batch, device, setting="auto_bf16")
            auto = probe.choose(spec, batch, device)    # from the same times (cached)
        finally:
            if old is None:
                os.environ.pop(probe.CACHE_ENV)
            else:
                os.environ[probe.CACHE_ENV] = old
    for line in wide.log_lines():
        print(line.replace(f", {wide.cache}", ", measured in this run"))
    print(f"  auto (fp32 backward only) picks: {' '.join(auto.per_layer)}")
    return {"auto": auto, "auto_bf16": wide}


def speed(recipe, net: str, device: str, rates: dict[str, float], batch: int, rounds: int = 9) -> tuple[float, dict]:
    """Prints auto's per-layer probe and the step rates of one network; -> (auto/float, rates)."""
    spec = parse_network(recipe.network(net), SHAPE, CLASSES)
    choices = probe_table(spec, device, batch)
    arms = {"eedn today": ("fp32", False, 0), "eedn fp32": ("fp32", True, 0), "eedn auto": ("auto", True, 0),
            "eedn bf16_fwd": ("bf16_fwd", True, 0), "eedn bf16": ("bf16", True, 0),
            "eedn auto_bf16": ("auto_bf16", True, 0)}
    if device == "cpu" and precision.int8_supported():
        arms["eedn int8"] = ("int8", True, 0)
    if device != "cpu" and fp8.supported(device):   # the fp8 experiment (tnpipe/nn/fp8.py): exact forward
        arms["eedn fp8"] = ("fp8", True, 0)
    r = step_rates(recipe.network(net), device, arms, batch=batch, rounds=rounds, choices=choices)
    eedn = {k: v for k, v in r.items() if k != "float"}
    best = "eedn auto"   # the default execution, chosen by the probe (not the max of noisy arms)
    fastest_here = max(eedn, key=eedn.get)
    _, train_flops = flops_per_image(spec)
    achieved = eedn[best] * train_flops / 1e9
    arms = "  ".join(f"{k} {v:.1f}" for k, v in eedn.items())   # the labels, now with their img/s
    print(f"speed {device} {net}: float (plain fp32 NCHW) {r['float']:.1f} img/s  [{arms}]  "
          f"auto = {choices['auto'].summary()}: {eedn[best]:.1f} img/s  ratio auto/float {eedn[best] / r['float']:.3f}  "
          f"today/float {r['eedn today'] / r['float']:.3f}  (fastest arm in this run: {fastest_here})")
    ceiling = max(rates.values())
    print(f"  {train_flops / 1e9:.3f} GFLOP per training image (convolutions) -> {achieved:.1f} GFLOP/s = "
          f"{achieved / ceiling:.1%} of the machine's matrix-product ceiling ({ceiling:.1f} G(FL)OP/s, "
          f"{max(rates, key=rates.get)}); {achieved / rates['bf16']:.1%} of this run's bf16 rate")
    return eedn[best] / r["float"], r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", type=Path, default=REPO / "recipes" / "cifar10.toml")
    ap.add_argument("--network", default="cpu", help="network of the accuracy run")
    ap.add_argument("--speed-networks", default="cpu,1chip", help="networks whose training speed is compared")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=9, help="alternating timing rounds per arm (the median is reported)")
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--work", type=Path, default=None, help="prepared/results folder (default: a temporary one)")
    args = ap.parse_args()

    recipe = load_recipe(args.recipe)
    threads = recipe.train.for_network(args.network).threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    print(f"machine: {probe._cpu_model()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}; "
          f"{threads} thread{'s' if threads > 1 else ''} (the recipe's); load average {os.getloadavg()[0]:.2f}")
    rates = matmul_rates()
    caps = probe.machine_key("cpu").split(" | ")[1]
    print(f"matrix-product ceilings ({caps}): " + "  ".join(f"{k} {v:.1f} G{'OP' if k == 'int8' else 'FLOP'}/s"
                                                            for k, v in rates.items()))
    ratio = None
    for net in args.speed_networks.split(","):
        r, _ = speed(recipe, net, "cpu", rates, args.batch, args.rounds)
        if net == "1chip":
            ratio = r
        if torch.get_num_threads() != threads:
            raise SystemExit(f"torch's thread count changed during the timing ({threads} -> {torch.get_num_threads()})")
    if torch.cuda.is_available():
        speed(recipe, "1chip", "cuda", rates, 256, args.rounds)
    acc, minutes = float("nan"), 0.0
    if not args.skip_accuracy:
        work = args.work or Path(tempfile.mkdtemp(prefix="tnpipe-bench-train-"))
        acc, minutes, meta = cpu_accuracy(args.recipe, args.network, args.data_root, work, args.overrides)
        print(f"cpu network {args.network!r}: hw_test_acc {acc:.4f}  float_test_acc {meta['float_test_acc']:.4f}  "
              f"agreement {meta['agreement']:.4f}  epochs {meta['epochs']}  ({minutes:.1f} min wall clock, "
              f"{meta['test_frames']} test frames)  run dir {work}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(f"ratio={ratio if ratio is not None else float('nan'):.3f} cpu_acc={acc:.4f} minutes={minutes:.1f}")


if __name__ == "__main__":
    main()
