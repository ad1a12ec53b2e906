"""A small numpy interpreter of stateless NIR graphs, independent of tnpipe (tests only).

Evaluates a graph once per frame (no time axis): every node is a function of its input.
Supported nodes: Input, Output, Conv2d (stride, padding, groups, bias), Threshold
(z = [v > threshold], NIR's definition), SumPool2d, Flatten, Linear (y = W x), Affine, and
one step from v = 0 of IF (v = r I) and LIF (tau dv/dt = v_leak - v + r I, one Euler step of
dt = tau: v = v_leak + r I), both spiking iff v > v_threshold.
Arithmetic is float64, so every integer sum below 2^53 is exact.
"""

from __future__ import annotations

import numpy as np


def _pair(v) -> tuple[int, int]:
    a = np.broadcast_to(np.asarray(v).reshape(-1), (2,))
    return int(a[0]), int(a[1])


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride, padding, groups: int) -> np.ndarray:
    """(N, C_in, H, W) -> (N, C_out, H', W'), cross-correlation as in torch/NIR."""
    (sy, sx), (py, px) = _pair(stride), _pair(padding)
    c_out, c_in_g, ky, kx = weight.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (py, py), (px, px)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (ky, kx), axis=(2, 3))[:, :, ::sy, ::sx]
    c_out_g = c_out // groups
    out = [np.einsum("nchwij,ocij->nohw", win[:, g * c_in_g:(g + 1) * c_in_g],
                     weight[g * c_out_g:(g + 1) * c_out_g].astype(np.float64))
           for g in range(groups)]
    return np.concatenate(out, axis=1) + np.asarray(bias, np.float64).reshape(1, -1, 1, 1)


def sum_pool2d(x: np.ndarray, kernel, stride, padding) -> np.ndarray:
    """Sum over each window, per channel: a conv of every channel alone with a kernel of ones."""
    n, c, h, w = x.shape
    ky, kx = _pair(kernel)
    out = conv2d(x.reshape(n * c, 1, h, w), np.ones((1, 1, ky, kx)), np.zeros(1), stride, padding, 1)
    return out.reshape(n, c, *out.shape[2:])


def _apply(node, v: np.ndarray) -> np.ndarray:
    kind = type(node).__name__
    if kind in ("Input", "Output"):
        return v
    if kind == "Conv2d":
        return conv2d(v, node.weight, node.bias, node.stride, node.padding, int(node.groups))
    if kind == "Threshold":
        return (v > np.asarray(node.threshold, np.float64)[None]).astype(np.float64)
    if kind == "IF":
        return (np.asarray(node.r, np.float64)[None] * v > np.asarray(node.v_threshold, np.float64)[None]) * 1.0
    if kind == "LIF":
        # one Euler step of dt = tau from v = 0: v = (dt / tau) (v_leak + r I) = v_leak + r I
        vm = np.asarray(node.v_leak, np.float64)[None] + np.asarray(node.r, np.float64)[None] * v
        return (vm > np.asarray(node.v_threshold, np.float64)[None]) * 1.0
    if kind == "SumPool2d":
        return sum_pool2d(v, node.kernel_size, node.stride, node.padding)
    if kind == "Flatten":
        # NIR types carry no batch axis: dims count from the frame's first axis (batch = axis 0 here)
        start, end = int(node.start_dim) % (v.ndim - 1) + 1, int(node.end_dim) % (v.ndim - 1) + 1
        return v.reshape(*v.shape[:start], -1, *v.shape[end + 1:])
    if kind == "Linear":
        return v @ np.asarray(node.weight, np.float64).T
    if kind == "Affine":
        return v @ np.asarray(node.weight, np.float64).T + np.asarray(node.bias, np.float64)
    raise NotImplementedError(f"NIR node {kind} is not supported by this interpreter")


def run_graph(graph, x: np.ndarray, overrides: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every node's output for a batch x (N, *input shape). `overrides` replaces named nodes'
    outputs (e.g. feed given spikes into the rest of the graph). Nodes are visited in
    topological order of the edges; a node with several inputs sums them (NIR's rule)."""
    overrides = overrides or {}
    preds: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for a, b in graph.edges:
        preds[b].append(a)
    values: dict[str, np.ndarray] = {}
    pending = list(graph.nodes)
    while pending:
        ready = [n for n in pending if all(p in values for p in preds[n])]
        if not ready:
            raise ValueError(f"NIR graph has a cycle among {pending}")
        for name in ready:
            pending.remove(name)
            if name in overrides:
                values[name] = np.asarray(overrides[name], np.float64)
                continue
            inp = x if not preds[name] else sum(values[p] for p in preds[name])
            values[name] = _apply(graph.nodes[name], inp)
    return values
