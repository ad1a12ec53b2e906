"""`tnpipe export RUN_DIR --format nir`: the trained network as a NIR graph (docs/nir.md).

NIR (Neuromorphic Intermediate Representation, the `nir` package) is the exchange format of
snnTorch, norse, sinabs, spyx, lava-dl, ... The graph holds one frame; shapes are (C, H, W)
with no batch axis. Only nodes that those tools read are used (Conv2d, LIF or IF), every Conv2d is
dense (groups = 1: a grouped layer is written block-diagonal, zeros off the blocks, because
nir's type inference and the torch-based readers mis-build grouped convolutions), so plain
`nir.read(path)` type-checks it:

    input            float (C, H, W): images as x/255 (uint8 HWC -> CHW), speech features as stored
    input_norm       Conv2d 1x1, diagonal: (x - mean)/std per input channel (training split)
    L0_conv          Conv2d: the transduction layer's real weights, bias -theta (batch norm folded)
    L0_spike         LIF (or IF), threshold 0                                         (off-chip)
    Lk_conv          Conv2d: the integer trinary weights, bias = the integer leak L   (k >= 1)
    Lk_spike         LIF (or IF), threshold 1/2: z = [v > 1/2] is the chip's [s + L >= 1] (integer s + L)
    votes            Conv2d over the whole last map, W[k, c, :, :] = 1 iff feature c votes for k
    output           (K, 1, 1) votes; prediction = argmax, ties -> lowest class

Per-tick semantics: one frame is ONE step of every neuron from v = 0 (r = 1, reset to 0): v = the
conv's output, z = [v > v_threshold] (LIF: tau = 0.1 ms, v_leak = 0, one Euler step of dt = tau;
see `_neuron`). That is Eedn's memoryless tick. A tool must start each frame from zero state
(snnTorch: a fresh module or reset_mem(); norse: no state passed) and run one step; over
several steps an IF accumulates sub-threshold input, which the chip does not.

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
NIR_FORMAT_VERSION = 2   # 2: IF nodes, dense convolutions, conv read-out (1: Threshold, grouped)
CHIP_THRESHOLD = 0.5   # strictly between the integers 0 and 1: `> 1/2` and `>= 1` agree on integers
INPUT_NOTE = "float (C, H, W): images x/255 from uint8 (H, W, C); speech features as stored (float16 -> float)"


@dataclass
class SpikingLayer:
    """One conv -> threshold layer as NIR needs it (plain arrays, no torch)."""

    name: str                  # "L0" (the transduction layer), "L1", ... (tnpipe's layer names)
    token: str                 # as written in the network string, e.g. "P-32(2)"
    weight: np.ndarray         # (C_out, C_in / groups, k, k)
    bias: np.ndarray           # (C_out,)
    threshold: float           # spike iff conv + bias > threshold (one value: snnTorch needs it uniform)
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


def transduction_bias(theta: np.ndarray) -> np.ndarray:
    """float32 bias of the transduction conv: the batch norm folded in, spike iff s - theta > 0.

    The trainer spikes iff s >= theta (float64, theta = mu - b(sigma + eps): batch norm
    r = (s - mu)/(sigma + eps) + b >= 0 rearranged). A uniform threshold (snnTorch refuses
    per-neuron ones) means theta goes into the bias: z = [s - theta > 0]. That differs from
    tnpipe only where s is within float32 rounding of theta (a response exactly at theta, or
    a near tie that float32 summation orders differently); docs/nir.md measures how often."""
    return (-np.asarray(theta, dtype=np.float64)).astype(np.float32)


def nir_network(trained: Any, recipe: dict[str, Any]) -> NirNetwork:
    """A loaded run (tnpipe.nn.trained.TrainedNetwork) -> plain arrays. The only reader of
    tnpipe's artifacts here: the transduction layer and input normalisation come from the
    torch model (they never reach network.npz), the on-chip layers from the description."""
    model, desc = trained.model, trained.description
    t_spec, t = model.spec.transduction, model.transduction
    layers = [SpikingLayer(
        f"L{t_spec.index}", t_spec.token, t.conv.weight.detach().cpu().numpy().astype(np.float32),
        transduction_bias(t.bn.theta().detach().cpu().numpy()), 0.0,
        t_spec.stride, t_spec.padding, 1, (t_spec.out_channels, *t_spec.out_hw))]
    for ld in desc.layers:
        name, token = ld.name.split(" ", 1)          # "L3 P-32(2)"
        layers.append(SpikingLayer(
            name, token, ld.weights.astype(np.float32), ld.leak.astype(np.float32),
            CHIP_THRESHOLD, ld.stride, ld.padding, ld.groups,
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
        "spike_rule": "Lk_spike: LIF or IF, z = [conv + bias > v_threshold]; on-chip bias = integer leak, "
                      "v_threshold 1/2 (the chip's s + L >= 1); L0 (transduction, off-chip, real-valued): "
                      "batch norm folded into the bias -theta, v_threshold 0",
        "timesteps_per_frame": 1,
        "tick": "one frame = one step of every neuron from v = 0 (r = 1, reset to 0; LIF: tau = 1e-4 s, "
                "v_leak = 0, one Euler step of dt = tau gives v = input); reset the state before each frame; "
                "several steps per frame accumulate sub-threshold input, unlike the chip",
    }
    in_c = model.spec.input_shape[0]
    return NirNetwork(tuple(model.spec.input_shape), model.in_mean.detach().cpu().double().numpy().reshape(in_c),
                      model.in_std.detach().cpu().double().numpy().reshape(in_c), layers,
                      np.asarray(desc.class_of_feature, dtype=np.int64), int(desc.num_classes), metadata)


def dense_weight(weight: np.ndarray, groups: int) -> np.ndarray:
    """(C_out, C_in/g, k, k) grouped -> (C_out, C_in, k, k) block-diagonal, zeros off the blocks."""
    if groups == 1:
        return weight
    c_out, c_in_g = weight.shape[:2]
    dense = np.zeros((c_out, c_in_g * groups, *weight.shape[2:]), weight.dtype)
    per = c_out // groups
    for g in range(groups):
        dense[g * per:(g + 1) * per, g * c_in_g:(g + 1) * c_in_g] = weight[g * per:(g + 1) * per]
    return dense


def _conv(in_hw: tuple[int, int], weight: np.ndarray, bias: np.ndarray, stride: int, padding: int):
    import nir

    return nir.Conv2d(tuple(int(v) for v in in_hw), np.ascontiguousarray(weight, np.float32),
                      int(stride), int(padding), 1, 1, np.ascontiguousarray(bias, np.float32))


TICK_S = 1e-4          # the LIF time constant: snnTorch's fixed step, so its beta = 1 - dt/tau = 0
NEURONS = ("lif", "if")


def _neuron(kind: str, shape: tuple[int, int, int], threshold: float):
    """The spiking node of one layer: memoryless within a frame, reset to 0.

    lif (default): LIF with tau = TICK_S, r = 1, v_leak = 0: one Euler step of dt = tau from
        v = 0 gives v = I, and snnTorch (which hard-codes dt = 1e-4) builds it with beta = 0,
        no memory at all. Any reader whose step gives v = c * I with c > 1/2 (norse's default
        dt = 1 ms gives c = 10) spikes on the same neurons, because the thresholds are 0 and 1/2
        and the on-chip sums are integers.
    if: IF, r = 1 (Lava, SpiNNaker2, sinabs, norse, spyx read it; snnTorch 1.0's importer
        cannot chain IF layers: its IF module returns a (spike, membrane) tuple).
    nir < 1.0.6 has no v_reset field (reset to zero is implied there)."""
    import inspect

    import nir

    full = lambda v: np.full(shape, v, np.float32)   # noqa: E731
    fields = {"r": full(1.0), "v_threshold": full(threshold)}
    cls = nir.LIF if kind == "lif" else nir.IF
    if kind == "lif":
        fields |= {"tau": full(TICK_S), "v_leak": full(0.0)}
    if "v_reset" in inspect.signature(cls).parameters:
        fields["v_reset"] = full(0.0)
    return cls(**fields)


def build_graph(net: NirNetwork, neuron: str = "lif"):
    """NirNetwork -> nir.NIRGraph (types inferred and checked against the network's shapes);
    neuron: "lif" or "if", the spiking node (see `_neuron`)."""
    import nir

    if neuron not in NEURONS:
        raise ArtifactError(f"--neuron {neuron!r}: expected one of {', '.join(NEURONS)}")
    c_in, h_in, w_in = net.input_shape
    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array(net.input_shape)}),
        "input_norm": _conv((h_in, w_in), np.diag(1.0 / net.in_std).reshape(c_in, c_in, 1, 1),
                            -net.in_mean / net.in_std, 1, 0),
    }
    chain, hw = ["input", "input_norm"], (h_in, w_in)
    for layer in net.layers:
        nodes[f"{layer.name}_conv"] = _conv(hw, dense_weight(layer.weight, layer.groups), layer.bias,
                                            layer.stride, layer.padding)
        nodes[f"{layer.name}_spike"] = _neuron(neuron, layer.out_shape, layer.threshold)
        chain += [f"{layer.name}_conv", f"{layer.name}_spike"]
        hw = layer.out_shape[1:]
    c, h, w = net.layers[-1].out_shape
    assign = np.zeros((net.num_classes, c, h, w), np.float32)
    assign[net.class_of_feature, np.arange(c)] = 1.0
    nodes["votes"] = _conv((h, w), assign, np.zeros(net.num_classes), 1, 0)
    nodes["output"] = nir.Output(output_type={"output": np.array([net.num_classes, 1, 1])})
    chain += ["votes", "output"]
    metadata = {**net.metadata, "neuron": neuron}
    try:
        graph = nir.NIRGraph(nodes, list(zip(chain[:-1], chain[1:], strict=True)), metadata=metadata)
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


def export_nir(run_dir: Path, out: Path | None = None, force: bool = False,
               neuron: str = "lif") -> tuple[Path, Any]:
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
    graph = build_graph(nir_network(trained, recipe), neuron)
    with atomic_path(out) as tmp:
        nir.write(tmp, graph)
    return out, graph


__all__ = ["NIR_NAME", "NirNetwork", "SpikingLayer", "nir_network", "build_graph", "export_nir", "read_nir",
           "transduction_bias", "dense_weight"]
