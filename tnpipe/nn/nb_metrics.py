"""NeuroBench's metric names for a deployed network (result.json's "neurobench", the wide report).

The network measured is the deploy copy, as the NIR export writes it, in NeuroBench's terms
(neurobench 2.3.0, `metrics/static`, `metrics/workload`): the connection layers are the
transduction conv (real weights, the batch norm folded into a bias -theta) and every on-chip
conv (trinary weights in their groups, the integer leak as bias); the activation layers are
their spike outputs; the input is the normalised frame; the vote count is the post-processing.
Per frame, over the frames given:

    footprint_bytes          4 bytes (float32) x (every weight + every bias)      (Footprint)
    parameter_count          every weight + every bias                            (ParameterCount)
    connection_sparsity      zero weights / all weights (biases not counted)      (ConnectionSparsity)
    activation_sparsity      1 - spikes / (neurons x frames), all spike layers    (ActivationSparsity)
    synops_dense             per frame, every weight x every in-bounds input       (SynapticOperations "Dense")
    synops_effective_macs    per frame, nonzero weight x nonzero multi-bit input  ("Effective_MACs": transduction)
    synops_effective_acs     per frame, nonzero weight x input spike              ("Effective_ACs": on-chip layers)

Counts are exact: each conv runs in float64 on {0, 1} operands (the pairs counted are integers
far below 2^53). These are the field's standard names beside tnpipe's own chip figures
(synaptic_events_per_frame counts the chip's crossbar events, copies and splitters included).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

NB_VERSION_FOLLOWED = "2.3.0"


def _pairs(x: torch.Tensor, w: torch.Tensor, stride: int, padding: int, groups: int) -> float:
    """Sum over outputs of (nonzero input x nonzero weight) pairs: NeuroBench's count. float32
    is exact here: each output's count is an integer <= the fan-in (<< 2^24); the sum over
    outputs is taken in float64."""
    return float(F.conv2d((x != 0).float(), (w != 0).float(), None, stride, padding, 1, groups).double().sum())


def layers_of(trained) -> list[dict[str, Any]]:
    """The connection layers in NeuroBench's view: weight, bias, geometry (transduction first)."""
    model, desc = trained.model, trained.description
    t_spec, t = model.spec.transduction, model.transduction
    out = [{"weight": t.conv.weight.detach().double().cpu(), "bias_numel": t_spec.out_channels,
            "stride": t_spec.stride, "padding": t_spec.padding, "groups": 1}]
    for ld in desc.layers:
        out.append({"weight": torch.from_numpy(ld.weights.astype(np.float64)), "bias_numel": ld.out_channels,
                    "stride": ld.stride, "padding": ld.padding, "groups": ld.groups})
    return out


@torch.no_grad()
def neurobench_metrics(trained, x: np.ndarray, batch: int = 256) -> dict[str, Any]:
    """The metrics above for a loaded run (tnpipe.nn.trained.TrainedNetwork) on stored inputs x.

    One pass per batch, layer by layer (each on-chip layer's input is the previous one's
    spikes, as in hardware mode); the dense count does not depend on the data, so it is taken
    once, on one frame of ones."""
    from tnpipe.nn.hardware import on_chip_layer
    from tnpipe.nn.inputs import to_float_nchw

    layers = layers_of(trained)
    desc = trained.description
    weights = sum(int(ly["weight"].numel()) for ly in layers)
    params = weights + sum(ly["bias_numel"] for ly in layers)
    zeros = sum(int((ly["weight"] == 0).sum()) for ly in layers)
    n = len(x)
    macs = acs = 0.0
    spikes = neurons = 0
    shapes: list[tuple[int, ...]] = []
    for i in range(0, n, batch):
        frames = to_float_nchw(x[i:i + batch])
        norm = trained.model.normalise(frames.to(next(trained.model.parameters()).device)).float().cpu()
        acts = [torch.from_numpy(trained.transduce(x[i:i + batch]).astype(np.float32))]
        for layer in desc.layers:
            acts.append(on_chip_layer(layer, acts[-1]))
        inputs = [norm, *acts[:-1]]              # what each connection layer reads
        shapes = [tuple(t.shape[1:]) for t in inputs]
        macs += _pairs(norm, layers[0]["weight"], layers[0]["stride"], layers[0]["padding"], 1)
        for ly, inp in zip(layers[1:], acts[:-1], strict=True):
            acs += _pairs(inp, ly["weight"], ly["stride"], ly["padding"], ly["groups"])
        for out in acts:
            spikes += int(out.sum())
            neurons += int(out.numel())
    dense = sum(_pairs(torch.ones((1, *shape)), torch.ones_like(ly["weight"]), ly["stride"], ly["padding"],
                       ly["groups"]) for ly, shape in zip(layers, shapes, strict=True))
    return {
        "definitions": f"neurobench {NB_VERSION_FOLLOWED} names; tnpipe/nn/nb_metrics.py", "frames": int(n),
        "footprint_bytes": int(4 * params), "parameter_count": int(params),
        "connection_sparsity": zeros / weights,
        "activation_sparsity": 1.0 - spikes / neurons if neurons else 0.0,
        "synops_dense": dense if n else 0.0,
        "synops_effective_macs": macs / n if n else 0.0,
        "synops_effective_acs": acs / n if n else 0.0,
    }
