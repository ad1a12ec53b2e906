"""Eedn's layers (Esser et al. 2016, section "Training"), each an autograd rule plus a module.

Notation: x binary input spikes, w_h hidden real weight, w trinary weight, s filter
response, r normalised response, y output spike, b learned bias, mu/sigma batch statistics.

    trinary weight    w = hysteresis_round(clip(w_h, -1, 1), w_prev)          (TrinaryWeight)
                      forward uses w; backward: dL/dw_h := dL/dw (straight through)
    filter response   s = conv(x, w)                                          (TrinaryConv)
    batch norm        r = (s - mu) / (sigma + eps) + b,  eps = 1e-4           (BatchNormSpike)
                      sigma = standard deviation (NOT sqrt(var + eps)), no scale
    binary spike      y = [r >= 0];  backward dy/dr = max(0, 1 - |r|)         (Spike)
    read-out          votes[k] = sum over positions and features c with class_of_feature[c] = k
                      of y_last[c, position]                                   (VoteReadout)
    sparsity          gamma * 1/2 * sum over features of mean(y)^2             (sparsity_penalty)

The transduction layer (the first) is the same conv -> batch norm -> spike with real-valued
weights; it runs off-chip, so TrueNorth's trinary rule does not apply to it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tnpipe.nn import fp8, fused_cpu, lowfwd, precision

BN_EPS = 1e-4          # [EEDN] eps in r = (s - mu)/(sigma + eps) + b
HYSTERESIS = 0.1       # [EEDN] h of the trinary rounding


# ----------------------------------------------------------------------------- binary spike


class Spike(torch.autograd.Function):
    """Binary neuron with a triangular surrogate gradient.

    forward:   y = 1 if r >= 0 else 0                 (Eedn Eq. 3)
    backward:  dL/dr = dL/dy * max(0, 1 - |r|)        (peak 1 at r = 0, zero beyond |r| >= 1)
    """

    @staticmethod
    def forward(ctx, r: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(r)
        return _step(r)

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor) -> torch.Tensor:
        (r,) = ctx.saved_tensors
        return grad_y * (1.0 - r.abs()).clamp_(min=0.0)


spike = Spike.apply


# --------------------------------------------------------------------------- trinary weights


def hysteresis_round(hidden: torch.Tensor, previous: torch.Tensor, h: float = HYSTERESIS) -> torch.Tensor:
    """Trinary weights from hidden weights with a dead band of width 2h around +-0.5.

        w = +1        if w_h >=  0.5 + h
        w = -1        if w_h <= -0.5 - h
        w =  0        if |w_h| <= 0.5 - h
        w = w_prev    otherwise (inside (0.5 - h, 0.5 + h) or its mirror)

    A synapse thus flips only after the gradient has pushed w_h clearly past a threshold,
    i.e. by differences accumulated over several batches, not by noise around 0.5.
    """
    one = torch.ones((), dtype=hidden.dtype, device=hidden.device)
    out = torch.where(hidden.abs() <= 0.5 - h, torch.zeros_like(one), previous)
    out = torch.where(hidden >= 0.5 + h, one, out)
    return torch.where(hidden <= -0.5 - h, -one, out)


class TrinaryWeight(torch.autograd.Function):
    """Straight-through estimator: the trinary weights are used in forward AND backward.

    forward:   returns w (the current trinary weights; w_h only decides them, see
               hysteresis_round, applied after every optimiser step)
    backward:  dL/dw_h = dL/dw   (the gradient computed with w is applied to w_h)
    """

    @staticmethod
    def forward(ctx, hidden: torch.Tensor, trinary: torch.Tensor) -> torch.Tensor:
        return trinary.view_as(trinary)  # a view: no copy of the weights per step

    @staticmethod
    def backward(ctx, grad_w: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad_w, None


class TrinaryConv(nn.Module):
    """On-chip convolution with trinary weights {-1, 0, +1} (C_out, C_in/groups, k, k).

    `hidden` is the trained parameter; the `trinary` buffer is what the chip stores.
    Call `update_trinary()` after every optimiser step: it clips w_h to [-1, 1] and
    re-rounds with hysteresis.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int,
                 groups: int, hysteresis: float = HYSTERESIS, init_scale: float = 1.0):
        super().__init__()
        self.stride, self.padding, self.groups, self.hysteresis = stride, padding, groups, hysteresis
        shape = (out_channels, in_channels // groups, kernel, kernel)
        # Hidden weights ~ U(-a, a): with a = 1, ~40% start at 0, ~30% each at +-1 (the
        # third-party reimplementation's choice); a smaller a starts sparser.
        self.hidden = nn.Parameter(torch.empty(shape).uniform_(-init_scale, init_scale))
        self.register_buffer("trinary", torch.zeros(shape))
        self.compute_dtype: torch.dtype | None = None   # training forward's operand dtype; None = fp32 (nn/precision.py)
        self.fp32_backward = False                      # bf16_fwd: a bf16 forward with the fp32 backward
        self.update_trinary()

    def set_arithmetic(self, arithmetic: str) -> None:
        """The training forward's arithmetic: 'fp32', 'bf16', 'bf16_fwd', 'int8' or 'fp8'
        (tnpipe.nn.precision; all exact in the forward)."""
        self.compute_dtype = precision.compute_dtype(arithmetic)
        self.fp32_backward = arithmetic == "bf16_fwd"

    @property
    def arithmetic(self) -> str:
        return precision.arithmetic_of(self.compute_dtype, self.fp32_backward)

    @torch.no_grad()
    def update_trinary(self) -> None:
        if fused_cpu.usable(self.hidden) and self.hidden.is_contiguous() and self.trinary.is_contiguous():
            fused_cpu.hysteresis_update(self.hidden, self.trinary, self.hysteresis)  # same rule, one pass
            return
        self.hidden.clamp_(-1.0, 1.0)
        self.trinary.copy_(hysteresis_round(self.hidden, self.trinary, self.hysteresis))

    @property
    def fan_in(self) -> int:
        return int(math.prod(self.hidden.shape[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = TrinaryWeight.apply(self.hidden, self.trinary)
        if self.compute_dtype == torch.float8_e4m3fn and self.training:
            return fp8.fp8_conv(x, w, self.stride, self.padding, self.groups)   # exact: see tnpipe.nn.fp8
        if self.training and (self.compute_dtype == torch.int8 or self.fp32_backward):   # tnpipe.nn.lowfwd
            if precision.matrix_layer(x, w.shape[-1], self.stride, self.padding):   # N and P layers
                low = lowfwd.int8_bmm if self.compute_dtype == torch.int8 else lowfwd.bf16_bmm
                return precision.matmul_conv(x, w, self.groups, product=low)
            if self.compute_dtype == torch.bfloat16:   # bf16_fwd on an S layer (int8 ones run fp32)
                return lowfwd.bf16_forward_conv(x, w, self.stride, self.padding, self.groups)
        elif self.compute_dtype is not None and self.training:
            # exact: 0/1 spikes x -1/0/+1 weights sum to integers |s| <= 128, held exactly in
            # bf16 and summed in fp32 (tnpipe.nn.precision); gradients pass through bf16
            dt = self.compute_dtype
            return F.conv2d(x.to(dt), w.to(dt), None, self.stride, self.padding, 1, self.groups).float()
        if precision.matmul_applies(x, w.shape[-1], self.stride, self.padding):
            return precision.matmul_conv(x, w, self.groups)   # N and P layers on CPU: same sums, faster
        if precision.nchw_applies(x, self.groups):   # many-group 3x3 layers on CPU: NCHW is faster there
            s = F.conv2d(x.contiguous(), w.contiguous(), None, self.stride, self.padding, 1, self.groups)
            return s.contiguous(memory_format=torch.channels_last)
        return F.conv2d(x, w, None, self.stride, self.padding, 1, self.groups)


class RealConv(nn.Module):
    """The transduction layer's convolution: real-valued weights, off-chip, no constraint."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int):
        super().__init__()
        self.stride, self.padding = stride, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel, kernel))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # torch's Conv2d default

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, None, self.stride, self.padding)


# ---------------------------------------------------------------------- batch norm and spike


class BatchNormSpike(torch.autograd.Function):
    """Training-mode batch norm without scale + binary spike, fused (one saved tensor).

    forward (per feature, over the m = N*H*W values of s):
        mu = mean(s),  sigma = sqrt(max(mean((s - mu)^2), 1e-12)),  d = sigma + eps
        xhat = (s - mu) / d,   r = xhat + b,   y = [r >= 0]
    backward, with G = dL/dy * max(0, 1 - |r|)   (the triangle; = dL/dr = dL/dxhat):
        dL/db = sum(G)
        dL/ds = (G - mean(G) - (s - mu) * mean(G * (s - mu)) / (sigma * d)) / d
    (the last term is d sigma/ds = (s - mu)/(m sigma); it is dropped where the variance sat
    at its 1e-12 floor, whose slope is 0: a feature whose weights are all 0 has var = 0, and
    sqrt's infinite slope there would give NaN). Only r is saved: xhat = r - b.
    """

    @staticmethod
    def forward(ctx, s: torch.Tensor, bias: torch.Tensor, eps: float):
        # per-feature sums rather than torch.var_mean (~6x slower on CPU); centring first keeps the variance free of cancellation. Each line is one
        # pass over the activations: Eedn's step is bound by these passes on a CPU.
        m = s.shape[0] * s.shape[2] * s.shape[3]
        mu = s.sum(dim=(0, 2, 3)) / m
        # s + (-mu), not s - mu: out-of-place broadcast `sub` takes a ~4x slower CPU path
        c = s + (-mu).view(1, -1, 1, 1)
        var = c.square().sum(dim=(0, 2, 3)) / m
        floored = var < 1e-12
        sigma = var.clamp_min(1e-12).sqrt()
        d = sigma + eps
        r = torch.addcmul(bias.view(1, -1, 1, 1), c, (1.0 / d).view(1, -1, 1, 1), out=c)  # in place of c
        ctx.save_for_backward(r, bias, sigma, d, floored)
        return _step(r), mu.detach(), sigma.detach()

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor, _gmu, _gsigma):
        r, bias, sigma, d, floored = ctx.saved_tensors
        m = r.shape[0] * r.shape[2] * r.shape[3]
        g = torch.rsub(r.abs().clamp_(max=1.0), 1.0).mul_(grad_y)        # dL/dr = dL/dy * (1 - min(|r|, 1))
        grad_b = g.sum(dim=(0, 2, 3))
        xhat = r + (-bias).view(1, -1, 1, 1)                              # (s - mu) / d
        mean_g = grad_b / m
        # (s - mu) * mean(G (s - mu)) / (sigma d) = xhat * d * mean(G xhat) / sigma
        k = torch.where(floored, torch.zeros_like(sigma), (g * xhat).sum(dim=(0, 2, 3)) / (m * sigma))
        inv_d = (1.0 / d).view(1, -1, 1, 1)
        grad_s = torch.addcmul((-mean_g).view(1, -1, 1, 1) * inv_d, g, inv_d, out=g)  # (G - mean G) / d
        grad_s.sub_(xhat.mul_(k.view(1, -1, 1, 1)))
        return grad_s, grad_b, None


class BatchNormSpikeCPU(torch.autograd.Function):
    """BatchNormSpike's forward and backward, the same formulas, as the single-pass numba
    kernels of tnpipe.nn.fused_cpu (4 passes over the activations instead of ~19; float64
    per-feature sums). Used for float32 CPU tensors when numba is present."""

    @staticmethod
    def forward(ctx, s: torch.Tensor, bias: torch.Tensor, eps: float):
        y, r, mu, sigma, floored = fused_cpu.bn_spike_forward(s, bias, eps)
        ctx.save_for_backward(r, bias, sigma, floored)
        ctx.eps = eps
        ctx.mark_non_differentiable(mu, sigma)
        return y, mu, sigma

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor, _gmu, _gsigma):
        r, bias, sigma, floored = ctx.saved_tensors
        grad_s, grad_b = fused_cpu.bn_spike_backward(r, grad_y, bias, sigma, floored, ctx.eps)
        return grad_s, grad_b.to(bias.dtype), None


def _step(r: torch.Tensor) -> torch.Tensor:
    """[r >= 0] as floats: sign(r) + 1 is 0, 1 or 2, clamped to 1 (r = 0 spikes). Three
    in-place passes; ~2x faster on CPU than casting a bool comparison to float."""
    return torch.sign(r).add_(1.0).clamp_(max=1.0)


class SpikingBatchNorm(nn.Module):
    """Batch norm without scale, learned bias, then the binary spike.

    training:  mu, sigma = mean and standard deviation of s over (batch, positions), per
               feature; r = (s - mu)/(sigma + eps) + b;  y = [r >= 0] with the triangle
               backward (BatchNormSpike). Running averages of mu and sigma are kept for
               quick evaluation during training only.
    inference: mu, sigma are the buffers `mean`, `std` (set to whole-training-set statistics
               after training, see tnpipe.nn.stats). The decision is evaluated as
                   y = [s >= theta],   theta = mu - b (sigma + eps)   (float64)
               which is r >= 0 rearranged (sigma + eps > 0). Hardware mode uses the same
               float64 theta (leak L = floor(-theta) + 1), so for integer s the two agree
               exactly, boundaries included.
    """

    def __init__(self, features: int, momentum: float = 0.1, eps: float = BN_EPS):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.bias = nn.Parameter(torch.zeros(features))
        self.register_buffer("mean", torch.zeros(features, dtype=torch.float64))
        self.register_buffer("std", torch.ones(features, dtype=torch.float64))

    def theta(self) -> torch.Tensor:
        """float64 (C,) firing threshold on s at inference: spike iff s >= theta."""
        return self.mean - self.bias.detach().double() * (self.std + self.eps)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return (s.double() >= self.theta().view(1, -1, 1, 1)).to(s.dtype)
        rule = BatchNormSpikeCPU if fused_cpu.usable(s) and s.dim() == 4 else BatchNormSpike
        y, mu, sigma = rule.apply(s, self.bias, self.eps)
        with torch.no_grad():
            m = self.momentum
            self.mean.mul_(1 - m).add_(m * mu.double())
            self.std.mul_(1 - m).add_(m * sigma.double())
        return y


# ------------------------------------------------------------------------------- read-out


class VoteReadout(nn.Module):
    """Class votes from the last layer's spikes: votes = per-feature spike counts @ M.

    M[c, k] = 1 if class_of_feature[c] == k: every feature votes for its class at every
    position, so votes[n, k] = sum_{c: class(c) = k} sum_{y, x} spikes[n, c, y, x].
    """

    def __init__(self, class_of_feature: torch.Tensor, num_classes: int):
        super().__init__()
        m = F.one_hot(class_of_feature.long(), num_classes).float()
        self.register_buffer("assign", m)
        self.register_buffer("class_of_feature", class_of_feature.long().clone())

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        return spikes.sum(dim=(2, 3)) @ self.assign


def sparsity_penalty(mean_rates: list[torch.Tensor], gamma: float) -> torch.Tensor:
    """gamma * 1/2 * sum over every feature of every layer of (mean activation)^2.

    `mean_rates` holds one (C,) tensor per spiking layer: each feature's mean spike rate
    over the batch and positions ([EEDN]: gamma = 1e-4, not used up to half a chip).
    """
    total = sum(r.square().sum() for r in mean_rates)
    return 0.5 * gamma * total
