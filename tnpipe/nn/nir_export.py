"""`tnpipe export RUN_DIR --format nir`: the trained network as a NIR graph (docs/nir.md).

NIR (Neuromorphic Intermediate Representation, the `nir` package) is the exchange format of
norse, snnTorch, lava-dl, spyx, ... The graph holds one frame; shapes are (C, H, W) with no
batch axis; every node here is stateless, so evaluating the graph once gives every layer's
spikes for that frame (TrueNorth runs the layers one tick apart; see docs/nir.md):

    input            float (C, H, W): images as x/255 (uint8 HWC -> CHW), speech features as stored
    input_norm       Conv2d 1x1, groups = C: (x - mean)/std per input channel (training split)
    L0_conv          Conv2d: the transduction layer's real weights, bias 0          (off-chip)
    L0_spike         Threshold theta-: batch norm folded in, see `transduction_threshold`
    Lk_conv          Conv2d, grouped: the integer trinary weights, bias = the integer leak L  (k >= 1)
    Lk_spike         Threshold 1/2: NIR's z = [v > 1/2] is the chip's [s + L >= 1] for integer s + L
    votes_sum        SumPool2d over the whole last map -> (C_last, 1, 1)
    votes_flatten    Flatten -> (C_last,)
    votes            Linear (K, C_last): W[k, c] = 1 iff feature c votes for class k
    output           (K,) votes; prediction = argmax, ties -> lowest class

`nir_network` is the one place that reads tnpipe's trained run; the rest sees only plain arrays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe import __version__
from tnpipe.errors import ArtifactError

NIR_NAME = "network.nir"
NIR_FORMAT = "tnpipe.nir"
NIR_FORMAT_VERSION = 1
CHIP_THRESHOLD = 0.5   # strictly between the integers 0 and 1: `> 1/2` and `>= 1` agree on integers
INPUT_NOTE = "float (C, H, W): images x/255 from uint8 (H, W, C); speech features as stored (float16 -> float)"


@dataclass
class SpikingLayer:
    """One conv -> threshold layer as NIR needs it (plain arrays, no torch)."""

    name: str                  # "L0" (the transduction layer), "L1", ... (tnpipe's layer names)
    token: str                 # as written in the network string, e.g. "P-32(2)"
    weight: np.ndarray         # (C_out, C_in / groups, k, k)
    bias: np.ndarray           # (C_out,)
    threshold: np.ndarray      # (C_out,): spike iff conv + bias > threshold
    stride: int
    padding: int
    groups: int
    out_shape: tuple[int, int, int]


@dataclass
class NirNetwork:
    """What the NIR graph is built from."""

    input_shape: tuple[int, int, int]      # (C, H, W) of the multi-bit input
    in_mean: np.ndarray                    # (C,) input normalisation (training split)
    in_std: np.ndarray                     # (C,)
    layers: list[SpikingLayer]             # transduction first, then the on-chip layers
    class_of_feature: np.ndarray           # int64 (C_last,)
    num_classes: int
    metadata: dict[str, Any]


def transduction_threshold(theta: np.ndarray) -> np.ndarray:
    """float64 thresholds for the transduction layer's NIR Threshold node.

    The trainer spikes iff s >= theta (float64, theta = mu - b(sigma + eps): batch norm
    r = (s - mu)/(sigma + eps) + b >= 0 rearranged). NIR's Threshold is strict, z = [v > t];
    with t = the float64 just below theta, v > t holds exactly when v >= theta. Folding theta
    into the conv's bias instead (s - theta > 0) would lose the spike at s == theta.
    """
    return np.nextafter(np.asarray(theta, dtype=np.float64), -np.inf)


def nir_network(trained: Any, recipe: dict[str, Any]) -> NirNetwork:
    """A loaded run (tnpipe.nn.trained.TrainedNetwork) -> plain arrays. The only reader of
    tnpipe's artifacts here: the transduction layer and input normalisation come from the
    torch model (they never reach network.npz), the on-chip layers from the description."""
    model, desc = trained.model, trained.description
    t_spec, t = model.spec.transduction, model.transduction
    layers = [SpikingLayer(
        f"L{t_spec.index}", t_spec.token, t.conv.weight.detach().cpu().numpy().astype(np.float32),
        np.zeros(t_spec.out_channels, np.float32), transduction_threshold(t.bn.theta().detach().cpu().numpy()),
        t_spec.stride, t_spec.padding, 1, (t_spec.out_channels, *t_spec.out_hw))]
    for ld in desc.layers:
        name, token = ld.name.split(" ", 1)          # "L3 P-32(2)"
        layers.append(SpikingLayer(
            name, token, ld.weights.astype(np.float32), ld.leak.astype(np.float32),
            np.full(ld.out_channels, CHIP_THRESHOLD), ld.stride, ld.padding, ld.groups,
            (ld.out_channels, *ld.out_hw)))
    trinary = all(np.isin(ld.weights, (-1, 0, 1)).all() for ld in desc.layers)
    meta = trained.meta
    metadata = {
        "tnpipe_format": NIR_FORMAT, "tnpipe_format_version": NIR_FORMAT_VERSION, "tnpipe_version": __version__,
        "recipe": str(recipe.get("path", "")), "recipe_json": json.dumps(recipe, sort_keys=True, default=str),
        "dataset": str(meta.get("dataset", "")), "synthetic": bool(meta.get("synthetic", False)),
        "network_name": str(meta.get("network", "")), "network": desc.network, "trinary": bool(trinary),
        "num_classes": int(desc.num_classes), "hw_test_acc": float(meta.get("hw_test_acc", float("nan"))),
        "input": INPUT_NOTE,
        "layers": json.dumps([f"{layer.name} {layer.token}" for layer in layers]),
        "spike_rule": "Lk_spike: z = [conv + bias > threshold]; on-chip bias = integer leak, threshold 1/2 "
                      "(the chip's s + L >= 1); L0 (transduction, off-chip, real-valued): batch norm folded "
                      "into the threshold, bias 0",
    }
    in_c = model.spec.input_shape[0]
    return NirNetwork(tuple(model.spec.input_shape), model.in_mean.detach().cpu().double().numpy().reshape(in_c),
                      model.in_std.detach().cpu().double().numpy().reshape(in_c), layers,
                      np.asarray(desc.class_of_feature, dtype=np.int64), int(desc.num_classes), metadata)


def _conv(weight: np.ndarray, bias: np.ndarray, stride: int, padding: int, groups: int):
    import nir

    # input_shape None: nir 1.0.8 derives a Conv2d's input channels from weight.shape[1],
    # which is wrong for groups > 1; the graph infers every conv's types from its input instead.
    return nir.Conv2d(None, weight, stride, padding, 1, groups, bias)


def build_graph(net: NirNetwork):
    """NirNetwork -> nir.NIRGraph (types inferred and checked against the network's shapes)."""
    import nir

    c_in = net.input_shape[0]
    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array(net.input_shape)}),
        "input_norm": _conv((1.0 / net.in_std).reshape(c_in, 1, 1, 1), -net.in_mean / net.in_std, 1, 0, c_in),
    }
    chain = ["input", "input_norm"]
    for layer in net.layers:
        nodes[f"{layer.name}_conv"] = _conv(layer.weight, layer.bias, layer.stride, layer.padding, layer.groups)
        c, h, w = layer.out_shape
        nodes[f"{layer.name}_spike"] = nir.Threshold(np.broadcast_to(layer.threshold.reshape(c, 1, 1), (c, h, w)).copy())
        chain += [f"{layer.name}_conv", f"{layer.name}_spike"]
    c, h, w = net.layers[-1].out_shape
    assign = np.zeros((net.num_classes, c), np.float32)
    assign[net.class_of_feature, np.arange(c)] = 1.0
    nodes["votes_sum"] = nir.SumPool2d(np.array([h, w]), np.array([h, w]), np.array([0, 0]))
    nodes["votes_flatten"] = nir.Flatten({"input": np.array([c, 1, 1])}, 0, -1)
    nodes["votes"] = nir.Linear(assign)
    nodes["output"] = nir.Output(output_type={"output": np.array([net.num_classes])})
    chain += ["votes_sum", "votes_flatten", "votes", "output"]
    try:
        graph = nir.NIRGraph(nodes, list(zip(chain[:-1], chain[1:], strict=True)), metadata=net.metadata)
    except ValueError as e:   # pragma: no cover - shapes come from a checked network
        raise ArtifactError(f"NIR graph of {net.metadata.get('network')!r}: {e}") from e
    for layer in net.layers:
        got = tuple(int(v) for v in graph.nodes[f"{layer.name}_conv"].output_type["output"])
        if got != layer.out_shape:   # pragma: no cover - NIR and the netspec disagree on geometry
            raise ArtifactError(f"NIR graph: {layer.name} {layer.token} has shape {got}; expected {layer.out_shape}")
    return graph


def read_nir(path: Path):
    """nir.read with the grouped convolutions' input types repaired, then type-checked.

    nir 1.0.8 cannot type-check a grouped Conv2d it reads back (it takes weight.shape[1],
    C_in / groups, as the input channels), so `nir.read(path)` with its default
    type_check=True refuses every Eedn network with groups > 1. The graph itself is
    standard; this reads it untyped, sets each grouped conv's input to C_in = groups *
    weight.shape[1], and checks every edge's types."""
    import nir

    try:
        graph = nir.read(str(path), type_check=False)
    except (OSError, KeyError, ValueError) as e:
        raise ArtifactError(f"{path}: not a readable NIR file ({e.__class__.__name__}: {e})") from e
    for node in graph.nodes.values():
        if isinstance(node, nir.Conv2d) and node.input_shape is not None:
            node.input_type = {"input": np.array([node.weight.shape[1] * node.groups, *node.input_shape])}
    try:
        graph.infer_types()
        graph.check_types()
    except ValueError as e:
        raise ArtifactError(f"{path}: NIR graph types do not match ({e})") from e
    return graph


def export_nir(run_dir: Path, out: Path | None = None, force: bool = False) -> tuple[Path, Any]:
    """Write RUN_DIR's trained network as a NIR file (default RUN_DIR/network.nir).

    Refuses to overwrite an existing file unless force; the file appears whole or not at all.
    Returns (path, graph)."""
    from tnpipe.artifacts.checkpoint import CHECKPOINT_NAME, load_checkpoint
    from tnpipe.atomic import atomic_path
    from tnpipe.nn.trained import load_trained

    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / NIR_NAME
    if not run_dir.is_dir():
        raise ArtifactError(f"{run_dir}: no such run folder; expected results/NAME/NET from `tnpipe train`")
    if out.is_dir():
        raise ArtifactError(f"--out {out}: is a folder; expected a file name such as {out / NIR_NAME}")
    if out.exists() and not force:
        raise ArtifactError(f"{out}: already exists; use --force to overwrite it")
    try:
        import nir
    except ImportError as e:   # pragma: no cover - nir is a dependency of tnpipe
        raise ArtifactError("the `nir` package is not installed; `pip install nir` (or reinstall tnpipe)") from e
    trained = load_trained(run_dir)
    # the recipe lives in the checkpoint only (load_trained keeps train.json's meta, not it)
    recipe = load_checkpoint(run_dir / CHECKPOINT_NAME).recipe or {}
    graph = build_graph(nir_network(trained, recipe))
    with atomic_path(out) as tmp:
        nir.write(tmp, graph)
    return out, graph


__all__ = ["NIR_NAME", "NirNetwork", "SpikingLayer", "nir_network", "build_graph", "export_nir", "read_nir",
           "transduction_threshold"]
