"""What every simulator engine is: the `Engine` protocol and the one typed result, `SimResult`.

An engine is built from a CoreMap by its registry entry (tnpipe/chip/engines.py) with the
run options fixed (`EngineSettings`), then `warm_up()` (its one-time start, seconds) and
`run(inputs)` -> SimResult. Engines only ever see a CoreMap, never a layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class EngineSettings:
    """How an engine runs the frames (speed only: every setting gives the same spikes)."""

    batch: int = 256      # frames per step of the compiled engines
    streams: int = 16     # independent chip instances side by side (reference engine)
    workers: int = 1      # Python threads over the frames (lut, gemm)


@dataclass
class Timings:
    """Where a simulation's time went, in seconds (filled by `tnpipe.chip.engines.simulate`)."""

    compile_seconds: float = 0.0   # CoreMap -> the engine's own program (construction)
    kernel_seconds: float = 0.0    # one-time start: numba's compile or cache load
    run_seconds: float = 0.0       # the frames alone: the steady-state rate is N / run_seconds


@dataclass
class SimResult:
    """What a simulation measured; every counter is a mean per frame over the frames run
    (each frame's own activity; the same figures from every engine, tested)."""

    votes: np.ndarray                      # int64 (N, n_outputs)
    sops_per_frame: float
    spikes_per_frame: float
    hops_per_frame: float
    crossings_per_frame: float
    core_spikes_per_frame: np.ndarray      # float64 (n_cores,)
    busiest_core_sops: float               # max over cores of SOPs per frame = per tick (timing model)
    engine: str = "reference"
    input_packets_per_frame: float = 0.0   # spikes entering through the input wiring (one per wire)
    output_packets_per_frame: float = 0.0  # spikes leaving through the output wiring (the votes)
    timings: Timings = field(default_factory=Timings)
    fallback: str | None = None            # why "auto" could not use a compiled engine
    recorded: dict = field(default_factory=dict)   # traces: per-tick spikes (reference, record=True), signals


class Engine(Protocol):
    """One simulator engine bound to one CoreMap, its device and its EngineSettings."""

    def warm_up(self) -> float:
        """The one-time start (e.g. numba's compile); seconds it took, 0.0 when none."""
        ...

    def run(self, inputs: np.ndarray) -> SimResult:
        """inputs (N, n_inputs) {0,1} -> votes and per-frame activity of every frame."""
        ...
