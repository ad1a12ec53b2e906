"""One entry point for the simulation: the fastest exact engine a CoreMap allows.

`simulate(cm, inputs)` compiles the map (compile.py) and runs the fast path (on CPU the
"popcount" engine, popcount.py, when numba is installed: measured 3-5x "lut"); a map the
compiler cannot prove feed-forward, synchronous and memoryless runs on the reference
tick engine instead (simulator.py). Both give the same spikes where both apply (tests).
"""

from __future__ import annotations

import time

import numpy as np

from tnpipe.chip.compile import UnsupportedMap, compile_program
from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.fastpath import KERNELS, FastEngine
from tnpipe.chip.popcount import AVAILABLE as POPCOUNT_AVAILABLE
from tnpipe.chip.popcount import PopcountEngine
from tnpipe.chip.simulator import ReferenceEngine, SimResult

ENGINES = ("auto", "reference", *KERNELS, "popcount")


def simulate(cm: CoreMap, inputs: np.ndarray, engine: str = "auto", device: str = "cpu",
             batch: int = 256, streams: int = 16, workers: int = 1) -> SimResult:
    """inputs (N, n_inputs) {0,1} -> SimResult (votes per frame, activity per frame).

    recorded: compile_seconds (CoreMap -> Program), kernel_seconds (the engine's one-time
    start: numba's compile or cache load, measured on one silent frame) and run_seconds
    (the frames alone: the steady-state rate is N / run_seconds)."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}; expected one of {ENGINES}")
    if engine == "reference":
        return _timed_reference(cm, inputs, streams, device)
    t0 = time.perf_counter()
    try:
        prog = compile_program(cm)
    except UnsupportedMap as e:
        if engine != "auto":
            raise
        res = _timed_reference(cm, inputs, streams, device)
        res.recorded["fallback"] = str(e)
        return res
    compile_s = time.perf_counter() - t0
    # auto: the popcount engine (numba, bit-packed spikes) on CPU when numba is there, else lut
    if engine == "popcount" or (engine == "auto" and POPCOUNT_AVAILABLE and device == "cpu"):
        try:
            eng = PopcountEngine(prog)
        except UnsupportedMap:
            if engine != "auto":
                raise
            eng = None
        if eng is not None:
            kernel_s = eng.warm_up()
            res = eng.run(inputs, batch=max(batch, 1024))
            res.recorded.update(compile_seconds=compile_s, kernel_seconds=kernel_s, run_seconds=eng.last_seconds)
            return res
    fast = FastEngine(prog, "lut" if engine in ("auto", "popcount") else engine, device)
    res = fast.run(inputs, batch=batch, workers=workers)
    res.recorded.update(compile_seconds=compile_s, kernel_seconds=0.0, run_seconds=fast.last_seconds)
    return res


def _timed_reference(cm: CoreMap, inputs: np.ndarray, streams: int, device: str) -> SimResult:
    t0 = time.perf_counter()
    eng = ReferenceEngine(cm, device)
    t1 = time.perf_counter()
    res = eng.run(inputs, streams=streams)
    res.recorded.update(compile_seconds=t1 - t0, kernel_seconds=0.0, run_seconds=time.perf_counter() - t1)
    return res
