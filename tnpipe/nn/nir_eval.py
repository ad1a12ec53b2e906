"""A float64 numpy evaluator of the chain NIR graphs tnpipe reads (tnpipe.nn.nir_import).

It evaluates the NIR graph itself, node by node, as NIR defines each node, one memoryless
step per frame (docs/nir.md): it does not go through the NetworkDescription that the chip
is mapped from, so comparing the chip's votes with it checks the conversion too. Integer
sums are exact in float64 (below 2^53).
"""

from __future__ import annotations

import numpy as np


def _pair(v) -> tuple[int, int]:
    a = np.broadcast_to(np.asarray(v).reshape(-1), (2,))
    return int(a[0]), int(a[1])


def conv2d(x: np.ndarray, node) -> np.ndarray:
    """(N, C_in, H, W) -> (N, C_out, H', W'): cross-correlation with stride, padding, groups, bias."""
    w = np.asarray(node.weight, np.float64)
    (sy, sx), (py, px), groups = _pair(node.stride), _pair(node.padding), int(node.groups)
    c_out, c_in_g, ky, kx = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (py, py), (px, px)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (ky, kx), axis=(2, 3))[:, :, ::sy, ::sx]
    per = c_out // groups
    out = np.concatenate([np.einsum("nchwij,ocij->nohw", win[:, g * c_in_g:(g + 1) * c_in_g],
                                    w[g * per:(g + 1) * per]) for g in range(groups)], axis=1)
    return out + np.broadcast_to(np.asarray(node.bias, np.float64), (c_out,)).reshape(1, -1, 1, 1)


def _spike(node, v: np.ndarray) -> np.ndarray:
    kind = type(node).__name__
    f = lambda name: np.asarray(getattr(node, name), np.float64)   # noqa: E731
    if kind == "Threshold":
        return (v > f("threshold")).astype(np.float64)
    if kind == "IF":
        return (f("r") * v > f("v_threshold")).astype(np.float64)
    # LIF, one Euler step of dt = tau from v = 0: v = v_leak + r I
    return (f("v_leak") + f("r") * v > f("v_threshold")).astype(np.float64)


def apply(node, v: np.ndarray) -> np.ndarray:
    """One node on a batch (N, *shape)."""
    kind = type(node).__name__
    if kind in ("Input", "Output"):
        return v
    if kind == "Conv2d":
        return conv2d(v, node)
    if kind in ("IF", "LIF", "Threshold"):
        return _spike(node, v)
    if kind == "Affine":
        return v @ np.asarray(node.weight, np.float64).T + np.asarray(node.bias, np.float64)
    if kind == "Linear":
        return v @ np.asarray(node.weight, np.float64).T
    if kind == "Scale":
        return v * np.asarray(node.scale, np.float64)
    if kind == "Flatten":
        return v.reshape(len(v), -1)
    if kind == "SumPool2d":
        n, c, h, w = v.shape
        ones = type("Ones", (), {"weight": np.ones((1, 1, *_pair(node.kernel_size))), "bias": np.zeros(1),
                                 "stride": node.stride, "padding": node.padding, "groups": 1})
        out = conv2d(v.reshape(n * c, 1, h, w), ones)
        return out.reshape(n, c, *out.shape[2:])
    raise ValueError(f"NIR node type {kind} is not evaluated here")


def evaluate(graph, order: list[str], x: np.ndarray, keep: tuple[str, ...] | None = None,
             batch: int = 64) -> dict[str, np.ndarray]:
    """The outputs of the nodes `keep` (default: all) along the chain `order` for frames
    x (N, *input shape), evaluated in batches."""
    keep = tuple(order) if keep is None else keep
    out: dict[str, list[np.ndarray]] = {name: [] for name in keep}
    for i in range(0, len(x), batch):
        v = np.asarray(x[i:i + batch], np.float64)
        for name in order:
            v = apply(graph.nodes[name], v)
            if name in out:
                out[name].append(v)
    return {name: np.concatenate(vals) for name, vals in out.items()}


__all__ = ["apply", "conv2d", "evaluate"]
