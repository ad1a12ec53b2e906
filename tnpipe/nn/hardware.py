"""Hardware mode: the trained network in integer arithmetic, exactly as TrueNorth runs it.

For every on-chip layer (binary input spikes x, trinary weights w, integer leak L):

    s = sum over the filter's support of w * x          (an integer, |s| <= fan_in <= 128)
    spike = 1 if s + L >= 1 else 0                      (threshold 1, reset 0, floor 0)

Leak. The float graph spikes iff r = (s - mu)/(sigma + eps) + b >= 0, i.e. (sigma + eps > 0)
iff s >= theta with theta = mu - b(sigma + eps). For integer s that is s >= ceil(theta), so

    L = floor(b(sigma + eps) - mu) + 1 = floor(-theta) + 1     gives   s + L >= 1  <=>  s >= theta.

The paper prints L = ceil(b(sigma + eps) - mu). That equals ours except when b(sigma + eps) - mu
is an exact integer n: then ceil gives n, and s = -n (r = 0, which must spike) would give
s + L = 0 < 1, a missed spike; our form gives n + 1 and keeps it. theta is computed once in
float64 (SpikingBatchNorm.theta) and shared by the float graph and this module, so the two
agree frame for frame, boundaries included.

Range. |s| <= fan_in, so any L >= fan_in + 1 always spikes and any L <= -fan_in never does;
L is clamped into [-fan_in, fan_in + 1] without changing a single spike, which fits the
core's 9-bit leak (TRUENORTH.leak_min..leak_max) since fan_in <= 128.

The transduction layer stays off-chip in float: its binary output is the chip's input.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tnpipe.artifacts import LayerDescription, NetworkDescription, describe_architecture
from tnpipe.corespec import TRUENORTH
from tnpipe.errors import ArtifactError


def leak_from_theta(theta: np.ndarray, fan_in: int) -> np.ndarray:
    """int16 leaks L = floor(-theta) + 1, clamped into [-fan_in, fan_in + 1] (see module doc)."""
    theta = np.asarray(theta, dtype=np.float64)
    if not np.all(np.isfinite(theta)):
        raise ArtifactError(f"firing thresholds contain {int((~np.isfinite(theta)).sum())} non-finite value(s); "
                            "the batch-norm statistics are broken")
    leak = np.clip(np.floor(-theta) + 1, -fan_in, fan_in + 1).astype(np.int64)
    if leak.min() < TRUENORTH.leak_min or leak.max() > TRUENORTH.leak_max:  # pragma: no cover (fan_in <= 128)
        raise ArtifactError(f"leak range {leak.min()}..{leak.max()} exceeds the core's "
                            f"{TRUENORTH.leak_min}..{TRUENORTH.leak_max}")
    return leak.astype(np.int16)


def export_description(model) -> NetworkDescription:
    """The trained EednNet as the chip sees it: int8 trinary weights, int16 leaks, votes.

    Uses the batch-norm buffers `mean`/`std` as they are: call
    tnpipe.nn.stats.set_full_set_statistics first (the paper's whole-training-set statistics).
    """
    desc = describe_architecture(model.spec, model.readout.class_of_feature.cpu().numpy().astype(np.int64))
    for ld, layer in zip(desc.layers, model.chip, strict=True):
        w = layer.conv.trinary.detach().cpu()
        ld.weights = w.round().to(torch.int8).numpy()
        ld.leak = leak_from_theta(layer.bn.theta().detach().cpu().numpy(), ld.fan_in)
    return desc


def on_chip_layer(layer: LayerDescription, x: torch.Tensor) -> torch.Tensor:
    """One on-chip layer: integer s, then s + L >= 1.

    The convolution runs in float32 on {0,1} inputs and {-1,0,+1} weights: every partial sum
    is an integer of magnitude <= fan_in <= 128 < 2^24, so it is exact in any summation order.
    """
    w = torch.from_numpy(layer.weights.astype(np.float32)).to(x.device)
    s = F.conv2d(x, w, None, layer.stride, layer.padding, 1, layer.groups)
    leak = torch.from_numpy(layer.leak.astype(np.float32)).to(x.device).view(1, -1, 1, 1)
    return (s + leak >= 1).to(torch.float32)


@torch.no_grad()
def hardware_forward(desc: NetworkDescription, spikes: np.ndarray | torch.Tensor, batch_size: int = 256,
                     device: str = "cpu") -> np.ndarray:
    """(N, C, H, W) binary transduction spikes -> uint8 last-layer spikes (N, C_last, H', W')."""
    if not desc.has_weights:
        raise ArtifactError(f"network {desc.network!r}: description has no weights (architecture only)")
    x_all = torch.as_tensor(np.asarray(spikes))
    expect = tuple(desc.input_shape)
    if x_all.ndim != 4 or tuple(x_all.shape[1:]) != expect:
        raise ArtifactError(f"hardware mode: input spikes have shape {tuple(x_all.shape)}; expected (N, *{expect})")
    out = []
    for i in range(0, len(x_all), batch_size):
        x = x_all[i:i + batch_size].to(device=device, dtype=torch.float32)
        for layer in desc.layers:
            x = on_chip_layer(layer, x)
        out.append(x.to(torch.uint8).cpu())
    if not out:
        last = desc.layers[-1]
        return np.zeros((0, last.out_channels, *last.out_hw), dtype=np.uint8)
    return torch.cat(out).numpy()


def hardware_votes(desc: NetworkDescription, spikes: np.ndarray | torch.Tensor, batch_size: int = 256,
                   device: str = "cpu") -> np.ndarray:
    """int64 (N, classes) votes of hardware mode; prediction = argmax (ties -> lowest class)."""
    return desc.votes(hardware_forward(desc, spikes, batch_size, device))
