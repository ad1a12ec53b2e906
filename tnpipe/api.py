"""tnpipe as a Python library: what the CLI does, as plain calls (README, "Python API").

    import tnpipe.api as tn

    net = tn.load_run("results/cifar10-synthetic/tiny")   # a trained run, or tn.load_nir("g.nir")
    frames = tn.dataset_frames(net, 100)                  # the run's test inputs
    votes = net.infer(frames)                             # hardware mode: int64 (N, classes)
    cm = tn.map_network(net)                              # TrueNorth cores (a CoreMap)
    sim = tn.simulate(cm, net.spikes(frames))             # the chip: sim.votes == votes
    print(cm.n_cores, tn.energy(cm, sim)["mw"])           # cores, and the model's mW

Frames are what the network's input takes: for a run, stored inputs (uint8 NHWC images or
float16 NCHW features, as in the prepared dataset); for a NIR graph, float (N, C, H, W).
`spikes(frames)` is the off-chip transduction (the chip's binary input); `infer` is the
integer network the chip must reproduce frame for frame. Everything is CPU numpy/torch;
nothing here prints or writes unless asked (`export_nir`, `deploy`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe.errors import ArtifactError


@dataclass
class Network:
    """A network that can go on the chip: its integer description and its off-chip input stage."""

    description: Any                                 # tnpipe.artifacts.NetworkDescription
    source: str                                      # the run folder or NIR file it came from
    transduce: Callable[[np.ndarray], np.ndarray]    # frames -> uint8 {0, 1} spikes (N, C, H, W)
    prepared_dir: Path | None = None                 # a run's prepared dataset (dataset_frames)

    def spikes(self, frames: np.ndarray) -> np.ndarray:
        """The chip's input for these frames (the off-chip transduction)."""
        return self.transduce(frames)

    def infer(self, frames: np.ndarray) -> np.ndarray:
        """Hardware-mode votes, int64 (N, classes): the integer network the chip reproduces."""
        return self.votes_from_spikes(self.spikes(frames))

    def votes_from_spikes(self, spikes: np.ndarray) -> np.ndarray:
        """Hardware-mode votes, int64 (N, classes), from the chip's input spikes (N, C, H, W)."""
        from tnpipe.nn.hardware import hardware_votes

        return hardware_votes(self.description, np.asarray(spikes, np.uint8))

    def predict(self, frames: np.ndarray) -> np.ndarray:
        """int64 (N,) classes: argmax of the votes, ties to the lowest class."""
        return self.infer(frames).argmax(1).astype(np.int64)


def load_run(run_dir: str | Path) -> Network:
    """A finished training run (results/NAME/NET from `tnpipe train` or `tnpipe run`)."""
    from tnpipe.nn.trained import load_trained

    trained = load_trained(Path(run_dir))
    return Network(trained.description, str(run_dir), trained.transduce, Path(trained.record.prepared_dir))


def load_nir(path: str | Path) -> Network:
    """A NIR graph that satisfies the chip's rules (tnpipe.nn.nir_import; refused otherwise,
    one line per node). Its off-chip part (up to the first spiking node) is evaluated as NIR
    defines it, in float64."""
    from tnpipe.nn.nir_eval import evaluate
    from tnpipe.nn.nir_import import description, import_graph

    imp = import_graph(Path(path))

    def transduce(frames: np.ndarray) -> np.ndarray:
        upto = imp.order[:imp.order.index(imp.chip_input) + 1]
        return evaluate(imp.graph, upto, np.asarray(frames), keep=(imp.chip_input,))[imp.chip_input].astype(np.uint8)

    return Network(description(imp), str(path), transduce)


def dataset_frames(net: Network, n: int | None = None) -> np.ndarray:
    """The first n test inputs of a run's prepared dataset (all when n is None)."""
    from tnpipe.artifacts import PreparedDataset

    if net.prepared_dir is None:
        raise ArtifactError(f"{net.source}: a NIR graph carries no dataset; pass your own frames (N, C, H, W)")
    x = PreparedDataset.load(net.prepared_dir).x["test"]
    return x if n is None else x[:n]


def nir_frames(frames: np.ndarray) -> np.ndarray:
    """A run's stored inputs as the NIR graph `export_nir` writes takes them: float (N, C, H, W)
    (images x/255 from uint8 NHWC; speech features as stored)."""
    from tnpipe.nn.inputs import to_float_nchw

    return to_float_nchw(np.asarray(frames)).numpy()


def map_network(net: Network, placement: str = "regions"):
    """The network on TrueNorth cores: a validated tnpipe.chip.coremap.CoreMap."""
    from tnpipe.chip.mapper import map_network as _map
    from tnpipe.chip.validate import validate_coremap

    cm = _map(net.description, placement=placement)
    validate_coremap(cm)
    return cm


def simulate(cm, spikes: np.ndarray, device: str = "cpu"):
    """Run the chip on spike frames (N, C, H, W): a SimResult (votes, SOPs, spikes, hops per frame)."""
    from tnpipe.chip.engines import simulate as _simulate

    return _simulate(cm, np.asarray(spikes).reshape(len(spikes), -1), device=device)


def energy(cm, sim, profile: str = "truenorth-1.0v", tick_hz: float = 0.0) -> dict[str, Any]:
    """The energy/timing model's figures for a simulation (model estimates): fps, mw,
    uj_per_frame, fps_per_w, tick_hz, the breakdown, ... as in result.json."""
    from tnpipe.chip.profile import load_profile
    from tnpipe.deploy.stage import _measures

    return _measures(cm, sim, load_profile(profile), tick_hz)


def deploy(run_dir: str | Path, **kwargs):
    """`tnpipe deploy RUN_DIR`: map, simulate, verify, measure; writes result.json and returns
    it as the typed record (tnpipe.artifacts.RunResult)."""
    from tnpipe.deploy import deploy as _deploy

    return _deploy(Path(run_dir), **kwargs).record


def export_nir(run_dir: str | Path, out: str | Path | None = None, force: bool = False,
               neuron: str = "lif") -> Path:
    """`tnpipe export RUN_DIR`: the trained network as a NIR graph; returns the file's path."""
    from tnpipe.nn.nir_export import export_nir as _export

    return _export(Path(run_dir), None if out is None else Path(out), force, neuron)[0]


def deploy_nir(path: str | Path, out: str | Path, frames: int = 100, data: str | Path | None = None,
               force: bool = False) -> dict[str, Any]:
    """`tnpipe import GRAPH.nir`: check, map, simulate against the graph, measure; returns the record."""
    from tnpipe.nir_deploy import deploy_nir as _deploy_nir

    return _deploy_nir(Path(path), Path(out), frames, None if data is None else Path(data), force).record


__all__ = ["Network", "deploy", "deploy_nir", "energy", "export_nir", "load_nir", "load_run", "map_network",
           "nir_frames", "simulate", "dataset_frames"]
