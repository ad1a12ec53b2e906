"""Eedn's per-step elementwise work as single-pass CPU kernels (numba).

Why: on a CPU an Eedn training step is bound by passes over the activation maps. Written
with torch ops, batch norm without scale + binary spike + triangle backward takes ~19 passes
over every map (each op reads and writes a whole tensor), where plain BatchNorm2d + ReLU
takes ~7 inside torch's fused kernels. These kernels do the same arithmetic in 4 passes:

    forward    pass 1  per-feature sum and sum of squares of s         (float64 accumulators)
               pass 2  r = (s - mu)/(sigma + eps) + b,  y = [r >= 0]   (writes r and y)
    backward   pass 1  G = dL/dy * max(0, 1 - |r|); per-feature sum(G), sum(G * xhat)
               pass 2  dL/ds = (G - mean(G))/d - xhat * k              (G recomputed, not stored)

and the hysteresis rounding of the trinary weights (clip, then three comparisons) in one.
The formulas are those of tnpipe.nn.layers.BatchNormSpike; tests/nn/test_fused_cpu.py
checks the two against each other.

Layout: activations are channels-last, so a (N, C, H, W) map is a contiguous (N*H*W, C)
matrix whose rows are positions and columns features; every loop runs along C (unit stride,
vectorised). Rows are split into `chunks` blocks for numba's threads; each block keeps its
own accumulators, summed in block order, so results depend on the chunk count only (the
trainer sets it from torch's thread count: same threads, same bits).

numba is a dependency; where it is missing (or for CUDA tensors) the torch ops are used.
`TNPIPE_FUSED_CPU=0` in the environment (or `fused_cpu.ENABLED = False`) turns the kernels
off, e.g. to compare against the torch rules (benchmarks/train.py does).
"""

from __future__ import annotations

import os

import numpy as np
import torch

try:
    import numba
    from numba import njit, prange

    AVAILABLE = True
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the import safe
    AVAILABLE = False

ENABLED = os.environ.get("TNPIPE_FUSED_CPU", "1") != "0"


if AVAILABLE:

    @njit(parallel=True, cache=True, fastmath=False)
    def _bn_spike_forward(s, bias, eps, r, y, stats, chunks):
        """s, r, y: (M, C) float32. stats: (3, C) float64 out: mu, sigma, floored (0/1)."""
        m, c = s.shape
        acc = np.zeros((chunks, 2, c))
        step = (m + chunks - 1) // chunks
        for t in prange(chunks):
            s1 = acc[t, 0]
            s2 = acc[t, 1]
            for i in range(t * step, min(m, (t + 1) * step)):
                row = s[i]
                for j in range(c):
                    v = np.float64(row[j])
                    s1[j] += v
                    s2[j] += v * v
        scale = np.empty(c, np.float32)
        shift = np.empty(c, np.float32)
        for j in range(c):
            tot1 = 0.0
            tot2 = 0.0
            for t in range(chunks):
                tot1 += acc[t, 0, j]
                tot2 += acc[t, 1, j]
            mu = tot1 / m
            var = max(tot2 / m - mu * mu, 0.0)
            floored = var < 1e-12
            sigma = np.sqrt(max(var, 1e-12))
            stats[0, j] = mu
            stats[1, j] = sigma
            stats[2, j] = 1.0 if floored else 0.0
            scale[j] = 1.0 / (sigma + eps)
            shift[j] = mu  # centred first, as the torch rule: (s - mu) stays exact for integer s
        for t in prange(chunks):
            for i in range(t * step, min(m, (t + 1) * step)):
                srow = s[i]
                rrow = r[i]
                yrow = y[i]
                for j in range(c):
                    v = (srow[j] - shift[j]) * scale[j] + bias[j]
                    rrow[j] = v
                    yrow[j] = np.float32(1.0) if v >= 0 else np.float32(0.0)

    @njit(parallel=True, cache=True, fastmath=False)
    def _bn_spike_backward(r, gy, bias, sigma, eps, floored, gs, gb, chunks):
        """r, gy, gs: (M, C) float32; bias: float32 (C,); sigma, floored: float64 (C,).
        Writes dL/ds into gs and dL/db into gb (float32 (C,))."""
        m, c = r.shape
        acc = np.zeros((chunks, 2, c))
        step = (m + chunks - 1) // chunks
        for t in prange(chunks):
            sg = acc[t, 0]
            sgx = acc[t, 1]
            for i in range(t * step, min(m, (t + 1) * step)):
                rrow = r[i]
                grow = gy[i]
                for j in range(c):
                    v = rrow[j]
                    g = grow[j] * max(np.float32(0.0), np.float32(1.0) - abs(v))
                    sg[j] += g
                    sgx[j] += np.float64(g) * (v - bias[j])
        inv_d = np.empty(c, np.float32)
        mean_g = np.empty(c, np.float32)
        k = np.empty(c, np.float32)
        for j in range(c):
            tot_g = 0.0
            tot_gx = 0.0
            for t in range(chunks):
                tot_g += acc[t, 0, j]
                tot_gx += acc[t, 1, j]
            gb[j] = tot_g
            inv_d[j] = 1.0 / (sigma[j] + eps)
            mean_g[j] = tot_g / m
            k[j] = 0.0 if floored[j] != 0 else tot_gx / (m * sigma[j])
        for t in prange(chunks):
            for i in range(t * step, min(m, (t + 1) * step)):
                rrow = r[i]
                grow = gy[i]
                orow = gs[i]
                for j in range(c):
                    v = rrow[j]
                    g = grow[j] * max(np.float32(0.0), np.float32(1.0) - abs(v))
                    orow[j] = (g - mean_g[j]) * inv_d[j] - (v - bias[j]) * k[j]

    @njit(parallel=True, cache=True, fastmath=False)
    def _hysteresis_update(hidden, trinary, h, chunks):
        """In place, flat float32 arrays: hidden = clip(hidden, -1, 1); trinary re-rounded."""
        n = hidden.shape[0]
        lo, hi = np.float32(0.5 - h), np.float32(0.5 + h)
        step = (n + chunks - 1) // chunks
        for t in prange(chunks):
            for i in range(t * step, min(n, (t + 1) * step)):
                w = min(max(hidden[i], np.float32(-1.0)), np.float32(1.0))
                hidden[i] = w
                a = abs(w)
                if w >= hi:
                    trinary[i] = 1.0
                elif w <= -hi:
                    trinary[i] = -1.0
                elif a <= lo:
                    trinary[i] = 0.0


def usable(t: torch.Tensor) -> bool:
    """True where the kernels apply: numba present and enabled, a float32 CPU tensor."""
    return AVAILABLE and ENABLED and t.device.type == "cpu" and t.dtype == torch.float32


def _launch(kernel, *args) -> None:
    """Run a kernel on as many row blocks and numba threads as torch has threads: the
    kernels use the cores torch was told to use (the recipes' `threads`), and the same count
    gives the same bits. numba's OpenMP pool, when it starts (first launch), resets the
    process's OpenMP thread count, which is torch's too: put torch's back."""
    torch_threads = torch.get_num_threads()
    n = max(1, min(torch_threads, numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)
    kernel(*args, n)
    if torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)


def _rows(t: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> the (N*H*W, C) channels-last matrix (a view when already channels-last)."""
    n, c, h, w = t.shape
    return t.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(n * h * w, c)


def bn_spike_forward(s: torch.Tensor, bias: torch.Tensor, eps: float):
    """-> (y, r, mu, sigma, floored): spikes and r channels-last (N, C, H, W) float32; mu,
    sigma float64 (C,); floored bool (C,) (variance at the 1e-12 floor)."""
    n, c, h, w = s.shape
    s2 = _rows(s.detach())
    r = torch.empty((n, c, h, w), dtype=s.dtype, memory_format=torch.channels_last)
    y = torch.empty_like(r)
    stats = torch.empty((3, c), dtype=torch.float64)
    _launch(_bn_spike_forward, s2.numpy(), bias.detach().float().contiguous().numpy(), float(eps),
            _rows(r).numpy(), _rows(y).numpy(), stats.numpy())
    return y, r, stats[0], stats[1], stats[2] > 0


def bn_spike_backward(r: torch.Tensor, grad_y: torch.Tensor, bias: torch.Tensor, sigma: torch.Tensor,
                      floored: torch.Tensor, eps: float):
    """-> (dL/ds channels-last (N, C, H, W), dL/db (C,)), both float32."""
    n, c, h, w = r.shape
    gs = torch.empty((n, c, h, w), dtype=r.dtype, memory_format=torch.channels_last)
    gb = torch.empty(c, dtype=r.dtype)
    _launch(_bn_spike_backward, _rows(r).numpy(), _rows(grad_y.float()).numpy(),
            bias.detach().float().contiguous().numpy(), sigma.double().contiguous().numpy(), float(eps),
            floored.double().contiguous().numpy(), _rows(gs).numpy(), gb.numpy())
    return gs, gb


def hysteresis_update(hidden: torch.Tensor, trinary: torch.Tensor, h: float) -> None:
    """Clip hidden weights to [-1, 1] and re-round the trinary ones, in place, one pass."""
    _launch(_hysteresis_update, hidden.detach().view(-1).numpy(), trinary.view(-1).numpy(), float(h))
