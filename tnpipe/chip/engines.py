"""The simulator engines by name, and `simulate`: one CoreMap's frames through the chosen one.

    ENGINES: name -> "module:function" building an `Engine` (tnpipe/chip/engine.py) from
    (CoreMap, device, EngineSettings); a module is imported only when its engine is built,
    so the names stay cheap to check (the recipe's `chip.engine`, `--set chip.engine=NAME`).

Adding an engine = one module with a `make(cm, device, settings)` + one line below.
"auto" (the default) takes the fastest exact engine the map and the machine allow: on CPU
"popcount" when numba is installed (measured 3-5x "lut"), else "lut"; a map the compiler
cannot prove feed-forward, synchronous and memoryless runs on the "reference" tick engine
(SimResult.fallback says why). Every engine gives the same spikes where it applies (tests).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

import numpy as np

from tnpipe.chip.compile import UnsupportedMap
from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.engine import Engine, EngineSettings, SimResult, Timings
from tnpipe.errors import RecipeError

AUTO = "auto"
ENGINES: dict[str, str] = {
    "reference": "tnpipe.chip.reference:make",   # the tick-stepped engine: any map, CPU or CUDA
    "lut": "tnpipe.chip.fastpath:make_lut",      # compiled map, Four Russians tables (torch)
    "gemm": "tnpipe.chip.fastpath:make_gemm",    # compiled map, float matrix products (torch)
    "popcount": "tnpipe.chip.popcount:make",     # compiled map, bit-packed spikes (numba, CPU)
}


def engine_names() -> tuple[str, ...]:
    return (AUTO, *ENGINES)


def check_engine(name: str) -> None:
    """A name the registry knows, or one line naming the known ones."""
    if name not in engine_names():
        raise RecipeError(f"engine {name!r} is not known; known engines: {', '.join(engine_names())}")


def maker(name: str) -> Callable[[CoreMap, str, EngineSettings], Engine]:
    check_engine(name)
    module, function = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), function)


def _auto_order(device: str) -> tuple[str, ...]:
    return ("popcount", "lut") if device == "cpu" else ("lut",)


def simulate(cm: CoreMap, inputs: np.ndarray, engine: str = AUTO, device: str = "cpu",
             batch: int = 256, streams: int = 16, workers: int = 1) -> SimResult:
    """inputs (N, n_inputs) {0,1} -> SimResult (votes per frame, activity per frame, timings)."""
    check_engine(engine)
    settings = EngineSettings(batch=batch, streams=streams, workers=workers)
    if engine != AUTO:
        return _timed(engine, cm, inputs, device, settings)
    why = None
    for name in _auto_order(device):
        try:
            return _timed(name, cm, inputs, device, settings)
        except UnsupportedMap as e:   # this map or machine cannot use it: the next one
            why = str(e)
    res = _timed("reference", cm, inputs, device, settings)
    res.fallback = why
    return res


def _timed(name: str, cm: CoreMap, inputs: np.ndarray, device: str, settings: EngineSettings) -> SimResult:
    """Build, start and run one engine; each part's seconds into SimResult.timings."""
    t0 = time.perf_counter()
    eng = maker(name)(cm, device, settings)
    t1 = time.perf_counter()
    kernel_s = eng.warm_up()
    t2 = time.perf_counter()
    res = eng.run(inputs)
    res.timings = Timings(compile_seconds=t1 - t0, kernel_seconds=kernel_s, run_seconds=time.perf_counter() - t2)
    return res
