"""Deploy's chip step: the CoreMap read back from disk, simulated, and proved equal to the
trained network (issue 10).

    map_and_reload(desc, run_dir)   map afresh, save coremap.npz + coremap.json, load them
                                    back (sha256 checked): only the loaded map is simulated
    load_given(folder, desc)        a map a user hands in (`deploy --coremap FOLDER`),
                                    checked against the trained network's inputs and classes
    run_chip(...)                   the fastest exact engine for the votes of every frame,
                                    the tick engine's trace for the spike-level sample, and
                                    tnpipe.verify's comparison with the numpy graph
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tnpipe.artifacts.result import Equivalence, SimulatorRecord
from tnpipe.chip import engines
from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.engine import SimResult
from tnpipe.chip.mapper import map_network
from tnpipe.chip.profile import ChipProfile
from tnpipe.chip.reference import ReferenceEngine, spike_trace
from tnpipe.chip.validate import validate_coremap
from tnpipe.corespec import TRUENORTH, CoreSpec
from tnpipe.errors import MappingError
from tnpipe.verify.equivalence import check_equivalence


@dataclass
class ChipOutcome:
    sim: SimResult             # votes, per-frame counters, timings
    equivalence: Equivalence   # from tnpipe.verify.equivalence
    simulator: SimulatorRecord  # the "simulator" record of result.json


def map_and_reload(desc, run_dir: Path, placement: str, spec: CoreSpec = TRUENORTH):
    """Map the network onto cores of `spec` (the chip profile's limits), validate, write the
    map into run_dir and return it as read back."""
    cm = map_network(desc, spec=spec, placement=placement)
    validate_coremap(cm)
    cm.save(run_dir)
    return CoreMap.load(run_dir, spec)


def load_given(folder: Path, desc, profile: ChipProfile | None = None):
    """The CoreMap in `folder` (sha256 checked by the loader), refused in one line when it
    cannot run the trained network: other input or output counts, cores of other limits than
    the chip profile's, or a broken core rule."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MappingError(f"--coremap {folder}: not a folder; expected one holding coremap.npz and coremap.json")
    missing = [f for f in ("coremap.npz", "coremap.json") if not (folder / f).is_file()]
    if missing:   # the loader's own hint ("run tnpipe deploy") is wrong for a map handed in
        raise MappingError(f"--coremap {folder}: no {' or '.join(missing)} there; expected a folder that "
                           "`tnpipe deploy` wrote (a run folder) or a copy of its coremap.npz + coremap.json")
    cm = CoreMap.load(folder, profile.spec if profile is not None else TRUENORTH)
    n_in = int(np.prod(desc.input_shape))
    if (cm.n_inputs, cm.n_outputs) != (n_in, desc.num_classes):
        raise MappingError(f"--coremap {folder}: the map has {cm.n_inputs} inputs and {cm.n_outputs} outputs; "
                           f"the trained network needs {n_in} and {desc.num_classes}")
    if profile is not None and cm.spec != profile.spec:
        raise MappingError(f"--coremap {folder}: the map's cores have other limits than chip profile "
                           f"{profile.name!r} ({profile.path}); map for that profile or choose the map's")
    try:
        validate_coremap(cm)
    except MappingError as e:
        raise MappingError(f"--coremap {folder}: {e}") from e
    return cm


def parse_spike_frames(value: str | int | None) -> int | None:
    """`--spike-frames`: a whole number >= 1, or "all" (None)."""
    if value is None:
        return 32
    if isinstance(value, int) or str(value).strip().isdigit():
        n = int(value)
        if n >= 1:
            return n
    elif str(value).strip().lower() == "all":
        return None
    raise MappingError(f"--spike-frames {value!r}: expected a whole number >= 1 or 'all'")


def run_chip(cm, desc, spikes: np.ndarray, graph_votes: np.ndarray, device: str = "cpu",
             spike_frames: int | None = 32, engine: str = "auto") -> ChipOutcome:
    """Simulate every frame (spikes (N, C, H, W)) on the map with `engine` (a registry name,
    tnpipe.chip.engines) and compare with the graph."""
    n = len(spikes)
    t0 = time.perf_counter()
    sim = engines.simulate(cm, spikes.reshape(n, -1), engine=engine, device=device)
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    tick_engine = ReferenceEngine(cm, device)
    eq = check_equivalence(cm, desc, spikes, sim.votes, graph_votes,
                           lambda frames: spike_trace(cm, frames, engine=tick_engine), spike_frames)
    run_s = sim.timings.run_seconds
    record = SimulatorRecord(
        engine=sim.engine, device=device, seconds=seconds,
        compile_seconds=sim.timings.compile_seconds,   # CoreMap -> the engine's program
        kernel_seconds=sim.timings.kernel_seconds,     # one-time: numba compile or cache load
        run_seconds=run_s,
        frames_per_s=n / run_s if run_s else 0.0,      # steady state: the frames alone
        verify_seconds=time.perf_counter() - t1,
        fallback=sim.fallback,
    )
    return ChipOutcome(sim, eq, record)


def equivalence_summary(eq: Equivalence) -> str:
    """One line with the three levels, strictest first (CLI and logs)."""
    spikes = (f"spikes {'exact' if eq.spikes_exact else 'NOT exact'} on {eq.spike_frames} frames "
              f"({eq.spikes_compared:,} spikes, {eq.neuron_ticks_compared:,} neuron-ticks compared)")
    return (f"chip == trained network: {'exact' if eq.exact else 'NOT exact'}; votes "
            f"{'exact' if eq.votes_exact else 'NOT exact'} on {eq.vote_frames} frames; {spikes}; "
            f"arg-max agreement {100 * eq.agreement:.2f}%")
