"""train.precision = "auto": per on-chip layer shape, the fastest exact arithmetic this
machine runs, found by measuring, never assumed from the device type.

The probe: for every distinct on-chip layer shape of the network (kind, channels, groups,
map size) and every arithmetic of the setting this machine has (tnpipe.nn.precision.AUTO:
`auto` = fp32, bf16_fwd and, where torch._int_mm works and the layer is N or P, int8, all
with fp32's backward (tnpipe.nn.lowfwd); the opt-in `auto_bf16` adds bf16, whose backward
rounds to bf16), time one forward + backward of the layer's real training path (TrinaryConv
in training mode, a 0/1 channels-last input at the training batch), arms alternating within
each round, the median of ROUNDS rounds; the layer runs in the arithmetic with the smallest
time (a tie keeps the earlier of ARITHMETICS, the more precise backward). Every arithmetic is
exact in the forward (tnpipe.nn.precision), so under `auto` the choice changes the speed
only (gradients as fp32's up to summation order).

The times are cached per machine (CPU model, its matrix-unit flags, torch version, thread
count, device) and shape in one JSON file, PROBE_FILE in the user's cache folder
(~/.cache/tnpipe, $XDG_CACHE_HOME/tnpipe, or $TNPIPE_CACHE_DIR): a shape is measured once per
machine. Delete the file to measure again (e.g. after a probe on a loaded machine).
Under DDP rank 0 chooses and broadcasts the choice (tnpipe.train.distributed), so every rank
runs the same arithmetic per layer.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from tnpipe.atomic import write_json
from tnpipe.nn import precision
from tnpipe.nn.layers import TrinaryConv

CACHE_ENV = "TNPIPE_CACHE_DIR"
PROBE_FILE = "precision-probe.json"
PROBE_FORMAT = 1
ROUNDS = 5
MAX_BATCH = 64          # a larger training batch is probed at 64 (per-image times change little above)
FLAGS = ("avx2", "avx512_f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile")

# measure(layers, arithmetics per layer, batch, device) -> per layer {arithmetic: ms per image}
Measure = Callable[[Sequence, Sequence[Sequence[str]], int, str], list[dict[str, float]]]


@dataclass
class LayerChoice:
    token: str                    # the layer as the Eedn string names it, e.g. "S-512(32)"
    shape: str                    # the cache key of its shape
    ms_per_image: dict[str, float]
    arithmetic: str


@dataclass
class PrecisionChoice:
    """What `auto` (or `auto_bf16`) chose, per on-chip layer, and why (the measured times)."""

    machine: str
    batch: int
    setting: str = "auto"
    layers: list[LayerChoice] = field(default_factory=list)
    measured: int = 0             # shapes measured now (the rest came from the cache)
    cache: str = ""

    @property
    def per_layer(self) -> list[str]:
        return [c.arithmetic for c in self.layers]

    def summary(self) -> str:
        counts = {a: self.per_layer.count(a) for a in precision.ARITHMETICS if a in self.per_layer}
        return f"{self.setting} (" + ", ".join(f"{a} x{n}" for a, n in counts.items()) + ")"

    def log_lines(self) -> list[str]:
        how = (f"measured {self.measured} shape(s) now" if self.measured else "all from the cache") + \
            f", {self.cache}"
        lines = [f"precision {self.summary()}: forward + backward ms per image at batch {self.batch} "
                 f"({how}; machine {self.machine})"]
        for c in self.layers:
            times = "  ".join(f"{a} {c.ms_per_image[a]:.3f}" if a in c.ms_per_image else f"{a}    -"
                              for a in precision.AUTO[self.setting])
            lines.append(f"  {c.token:<12} {times}  -> {c.arithmetic}")
        return lines

    def to_json(self) -> dict:
        return {"setting": self.setting, "per_layer": self.per_layer, "machine": self.machine, "batch": self.batch,
                "layers": [asdict(c) for c in self.layers]}


def cache_path() -> Path:
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tnpipe"
    return Path(root) / PROBE_FILE


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(device: str = "cpu") -> str:
    """What makes the times of one machine: CPU (or GPU) model, matrix-unit flags, torch, threads."""
    if str(device).startswith("cuda"):
        return f"{torch.cuda.get_device_name(torch.device(device))} | torch {torch.__version__}"
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    flags = ",".join(f for f in FLAGS if caps.get(f))
    return f"{_cpu_model()} | {flags or 'no flags read'} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def shape_key(ls, batch: int) -> str:
    return (f"{ls.kind} {ls.in_channels}x{ls.in_hw[0]}x{ls.in_hw[1]}->{ls.out_channels} k{ls.kernel} "
            f"s{ls.stride} p{ls.padding} g{ls.groups} batch {batch}")


def candidates(ls, device: str, setting: str = "auto") -> list[str]:
    """The arithmetics of `setting` worth timing for this layer here: int8 only on CPU, where
    torch._int_mm works, for the non-overlapping (N, P) layers it applies to."""
    int8 = str(device) == "cpu" and precision.int8_supported() and ls.kernel == ls.stride and ls.padding == 0
    return [a for a in precision.AUTO[setting] if a != "int8" or int8]


def fastest(ms: dict[str, float], allowed: Sequence[str] = precision.ARITHMETICS) -> str:
    """The arithmetic with the smallest time among `allowed`; a tie keeps the earlier of
    ARITHMETICS (the more precise backward)."""
    order = precision.ARITHMETICS
    return min((a for a in order if a in ms and a in allowed), key=lambda a: (ms[a], order.index(a)))


def _layer_runner(ls, arithmetic: str, batch: int, device: str, gen: torch.Generator) -> Callable[[], None]:
    conv = TrinaryConv(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding, ls.groups).to(device)
    conv.set_arithmetic(arithmetic)
    x = (torch.rand(batch, ls.in_channels, *ls.in_hw, generator=gen) < 0.3).float()
    x = x.to(device).contiguous(memory_format=torch.channels_last).requires_grad_(True)

    def run() -> None:
        s = conv(x)
        s.backward(torch.ones_like(s))
        x.grad = conv.hidden.grad = None
    return run


def measure_layers(layers: Sequence, arms: Sequence[Sequence[str]], batch: int, device: str) -> list[dict[str, float]]:
    """The real probe: per layer, ms per image of forward + backward in each arithmetic."""
    gen = torch.Generator().manual_seed(0)
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    out = []
    for ls, names in zip(layers, arms, strict=True):
        runners = {a: _layer_runner(ls, a, batch, device, gen) for a in names}
        for run in runners.values():   # warm-up: oneDNN primitives, numba
            run()
        times: dict[str, list[float]] = {a: [] for a in names}
        for _ in range(ROUNDS):
            for a, run in runners.items():
                sync()
                t = time.perf_counter()
                run()
                sync()
                times[a].append(time.perf_counter() - t)
        out.append({a: statistics.median(v) * 1e3 / batch for a, v in times.items()})
    return out


def _read_cache(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return obj.get("machines", {}) if isinstance(obj, dict) and obj.get("format") == PROBE_FORMAT else {}


def choose(spec, batch: int, device: str = "cpu", measure: Measure = measure_layers,
           use_cache: bool = True, setting: str = "auto") -> PrecisionChoice:
    """Per on-chip layer of `spec`, the fastest arithmetic of `setting` ('auto' or 'auto_bf16')
    here, measured or from the cache (a shape cached with more arithmetics serves fewer)."""
    batch = max(1, min(batch, MAX_BATCH))
    machine, path = machine_key(device), cache_path()
    machines = _read_cache(path) if use_cache else {}
    known: dict[str, dict[str, float]] = dict(machines.get(machine, {}))
    todo = {}
    for ls in spec.chip_layers:
        key = shape_key(ls, batch)
        if not set(candidates(ls, device, setting)) <= set(known.get(key, {})):
            todo.setdefault(key, ls)
    if todo:
        times = measure(list(todo.values()), [candidates(ls, device, setting) for ls in todo.values()], batch, device)
        known.update(zip(todo, times, strict=True))
        if use_cache:
            machines[machine] = known
            try:
                write_json(path, {"format": PROBE_FORMAT, "machines": machines})
            except OSError:
                pass   # an unwritable cache folder only costs a probe next time
    choice = PrecisionChoice(machine, batch, setting, measured=len(todo), cache=str(path) if use_cache else "no cache")
    for ls in spec.chip_layers:
        allowed = candidates(ls, device, setting)
        ms = {a: t for a, t in known[shape_key(ls, batch)].items() if a in allowed}
        choice.layers.append(LayerChoice(ls.token, shape_key(ls, batch), ms, fastest(ms, allowed)))
    return choice
