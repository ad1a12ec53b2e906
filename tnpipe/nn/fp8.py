"""An fp8 (e4m3) forward for the on-chip convolutions: the experiment behind
train.precision = "fp8" (issue 14), meant for GPUs with fp8 tensor cores (compute
capability >= 8.9: Ada, Hopper and later).

Why it is exact: spikes (0/1) and trinary weights (-1/0/+1) are e4m3 numbers, every product
is -1, 0 or +1, and torch._scaled_mm sums in fp32 with unit scales, so a filter response
(an integer, |s| <= fan-in <= 128) equals the fp32 one bit for bit. Gradients are real-valued
and would not be exact in fp8, so the backward is fp32, from the saved fp32 operands.

How: each layer as im2col (F.unfold) and one fp8 product per group. The matrices are
zero-padded to multiples of 16, which CUDA's fp8 products require (zeros add nothing).

Not measured on a GPU (none was lent to the session that wrote it); on a CPU torch emulates
the fp8 products, which is slow, so "auto" never picks it. Use it to measure:
`PRECISION=fp8 benchmarks/train_gpu.sh`, `benchmarks/train.py` on CUDA.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

E4M3 = torch.float8_e4m3fn


def supported(device) -> bool:
    """fp8 products exist here: on CUDA from compute capability 8.9; on CPU where this torch
    has them (emulated; newer torch builds only), found by trying one."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 9)
    return _cpu_has_fp8()


@functools.cache
def _cpu_has_fp8() -> bool:
    try:
        return bool(fp8_matmul(torch.ones(1, 1), torch.ones(1, 1))[0, 0] == 1.0)
    except (RuntimeError, NotImplementedError, AttributeError, TypeError):
        return False


def _pad16(n: int) -> int:
    return -(-n // 16) * 16


def fp8_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (P, K) @ b (K, F) with e4m3 operands and fp32 sums -> (P, F) fp32; exact for operands
    in {-1, 0, 1} (and any e4m3 values whose sums fp32 holds exactly)."""
    p, k = a.shape
    f = b.shape[1]
    kp, fp = _pad16(k), _pad16(f)
    a8 = F.pad(a, (0, kp - k, 0, _pad16(p) - p)).to(E4M3)
    b8 = F.pad(b, (0, fp - f, 0, kp - k)).t().contiguous().to(E4M3).t()   # column-major, as _scaled_mm wants
    one = torch.ones((), device=a.device)
    return torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.float32)[:p, :f]


class Fp8Conv(torch.autograd.Function):
    """conv2d(x, w, stride, padding, groups) with an fp8 forward and the fp32 backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.conv = (stride, padding, groups)
        n, _, h, wd = x.shape
        cout, cg, kh, kw = w.shape
        ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
        k = cg * kh * kw                          # unfold's rows: channel-major (c, ky, kx), groups in order
        cols = F.unfold(x, (kh, kw), padding=padding, stride=stride).view(n, groups, k, ho * wo)
        cols = cols.permute(1, 0, 3, 2).reshape(groups, n * ho * wo, k)
        wm = w.reshape(groups, cout // groups, k)
        s = torch.stack([fp8_matmul(cols[g], wm[g].t()) for g in range(groups)])   # (groups, positions, features)
        s = s.permute(1, 0, 2).reshape(n, ho, wo, cout).permute(0, 3, 1, 2)        # channels-last (N, C, H, W)
        return s if x.is_contiguous(memory_format=torch.channels_last) else s.contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, w = ctx.saved_tensors
        stride, padding, groups = ctx.conv
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = torch.nn.grad.conv2d_input(x.shape, w, grad, stride, padding, 1, groups)
        if ctx.needs_input_grad[1]:
            gw = torch.nn.grad.conv2d_weight(x, w.shape, grad, stride, padding, 1, groups)
        return gx, gw, None, None, None


def fp8_conv(x: torch.Tensor, w: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
    return Fp8Conv.apply(x, w, stride, padding, groups)
