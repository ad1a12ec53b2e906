"""`tnpipe import GRAPH.nir`: a NIR graph from any tool onto TrueNorth cores, simulated, measured.

    GRAPH.nir -> nir_import.import_graph (every chip rule checked; refusals, one line per node)
      -> NetworkDescription -> map_network -> validate_coremap
      -> frames: a prepared dataset's test inputs (--data) or seeded uniform [0, 1) frames
      -> the NIR graph evaluated as NIR defines it (nn.nir_eval, float64): the chip's input
         spikes (the first spiking node) and the graph's votes
      -> simulate the map on those spikes -> votes compared frame for frame
      -> energy/timing model -> OUT/coremap.npz + coremap.json + network.npz + nir_deploy.json

Nothing is written unless the graph passed every check; existing files there (nir_deploy.json,
a core map, network.npz, e.g. a run folder's) are kept unless force.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe.errors import ArtifactError

RESULT_NAME = "nir_deploy.json"


@dataclass
class NirDeployOutcome:
    path: Path                 # OUT/nir_deploy.json
    record: dict[str, Any]


def frames_for(input_shape: tuple[int, ...], frames: int, data: Path | None) -> tuple[np.ndarray, str]:
    """(N, C, H, W) float frames: a prepared dataset's test split, else seeded uniform [0, 1)."""
    if data is None:
        rng = np.random.default_rng(0)
        return rng.random((frames, *input_shape)), f"uniform [0, 1), seed 0, {frames} frames"
    from tnpipe.artifacts import PreparedDataset
    from tnpipe.nn.inputs import to_float_nchw

    ds = PreparedDataset.load(Path(data))
    x = to_float_nchw(ds.x["test"][:frames]).numpy()
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ArtifactError(f"--data {data}: frames of shape {tuple(x.shape[1:])}; the graph's input is {tuple(input_shape)}")
    return x, f"{data} test split, {len(x)} frames"


def deploy_nir(path: Path, out: Path, frames: int = 100, data: Path | None = None,
               force: bool = False) -> NirDeployOutcome:
    from tnpipe.atomic import write_json
    from tnpipe.chip.engines import simulate
    from tnpipe.chip.mapper import map_network
    from tnpipe.chip.profile import load_profile
    from tnpipe.chip.validate import validate_coremap
    from tnpipe.deploy.stage import _measures
    from tnpipe.nn.nir_eval import evaluate
    from tnpipe.nn.nir_import import description, import_graph

    t0 = time.perf_counter()
    out = Path(out)
    present = [f for f in (RESULT_NAME, "coremap.npz", "coremap.json", "network.npz") if (out / f).exists()]
    if present and not force:
        raise ArtifactError(f"{out / present[0]}: already exists; use --force to overwrite it")
    if out.exists() and not out.is_dir():
        raise ArtifactError(f"--out {out}: is a file; expected a folder")
    imp = import_graph(path)                          # refusals raise here: nothing written
    desc = description(imp)
    cm = map_network(desc)
    validate_coremap(cm)
    x, source = frames_for(imp.input_shape, frames, data)
    vals = evaluate(imp.graph, imp.order, x, keep=(imp.chip_input, imp.order[-1]))
    spikes = vals[imp.chip_input].astype(np.uint8)
    graph_votes = vals[imp.order[-1]].reshape(len(x), -1)
    sim = simulate(cm, spikes.reshape(len(x), -1))
    same = (np.asarray(sim.votes) == graph_votes).all(axis=1)
    record = {
        "graph": str(path), "network": desc.network, "frames": int(len(x)), "frames_source": source,
        "cores": int(cm.n_cores), "chips": int(cm.chips), "cores_per_layer": cm.cores_per_layer(),
        "latency_ticks": int(cm.latency_ticks),
        "votes_exact": bool(same.all()), "frames_votes_equal": int(same.sum()),
        "agreement": float((np.asarray(sim.votes).argmax(1) == graph_votes.argmax(1)).mean()),
        "layers": [{"node": ly.node, "kind": ly.kind, "groups": ly.groups} for ly in imp.layers],
    }
    measures = _measures(cm, sim, load_profile(), 0.0)
    record.update(measures, energy_model=dataclasses.asdict(measures["energy_model"]))
    out.mkdir(parents=True, exist_ok=True)
    cm.save(out)
    desc.save(out / "network.npz")
    record["seconds"] = time.perf_counter() - t0
    write_json(out / RESULT_NAME, record)
    return NirDeployOutcome(out / RESULT_NAME, record)


__all__ = ["RESULT_NAME", "NirDeployOutcome", "deploy_nir", "frames_for"]
