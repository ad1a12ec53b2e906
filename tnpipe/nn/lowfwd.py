"""Exact low-precision FORWARDS with the fp32 backward: the arithmetics `int8` and `bf16_fwd`
of train.precision, the candidates of `auto` besides fp32 (tnpipe/nn/probe.py).

Why the forward is exact: spikes (0/1) and trinary weights (-1/0/+1) are int8 and bf16
numbers, every product is -1, 0 or +1, and the sums (int32 for torch._int_mm; fp32 for
oneDNN's bf16 convolution; bf16 results of a bf16 matrix product, which hold every integer up
to 256 > fan-in 128) give a filter response equal to the fp32 one bit for bit.

Why the backward stays fp32: gradients are real-valued and would round in low precision
(that is what train.precision = "bf16" does: dL/ds rounded to bf16 before the transposed
products). Whether that trains as well as fp32 needs paired accuracy runs on the real subset
(issue 18, item 2), not yet made, so `auto` picks only among these fp32-backward
arithmetics. Their backward is the fp32 path's own operations on the same fp32 operands
(torch.bmm's two products; aten.convolution_backward), so a run trains the fp32 run's weights
bit for bit (tests/nn/test_probe.py): the training arithmetic changes the speed, not the
network. The cost: low precision pays only in the forward, a third of a layer's products.

    int8       N and P layers (non-overlapping kernels, run as matrix products on CPU): one
               torch._int_mm (int8 x int8 -> int32; oneDNN VNNI/AMX kernels) per group.
               S layers (3x3) run fp32 under int8.
    bf16_fwd   N and P layers: one bf16 batched product; S layers: oneDNN's bf16 convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class LowBmm(torch.autograd.Function):
    """a (G, P, K) @ b (G, K, F) with `dtype` operands (int8: int32 sums; bf16) -> (G, P, F)
    fp32; exact for operands in {-1, 0, 1}. Backward: torch.bmm's, in fp32, from the saved
    fp32 operands."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        if dtype != torch.int8:
            return torch.bmm(a.to(dtype), b.to(dtype)).float()
        a8, b8 = a.to(torch.int8), b.to(torch.int8)   # a keeps its strides: rows of a (P, G*K) matrix
        out = torch.empty(a.shape[0], a.shape[1], b.shape[2], dtype=torch.int32)
        for g in range(a.shape[0]):
            torch._int_mm(a8[g], b8[g], out=out[g])
        return out.float()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, b = ctx.saved_tensors
        ga = torch.bmm(grad, b.transpose(1, 2)) if ctx.needs_input_grad[0] else None
        gb = torch.bmm(a.transpose(1, 2), grad) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def int8_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return LowBmm.apply(a, b, torch.int8)


def bf16_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return LowBmm.apply(a, b, torch.bfloat16)


class Bf16ForwardConv(torch.autograd.Function):
    """conv2d(x, w, stride, padding, groups) with a bf16 forward (fp32 sums) and the fp32 backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.conv = (stride, padding, groups)
        dt = torch.bfloat16
        return F.conv2d(x.to(dt), w.to(dt), None, stride, padding, 1, groups).float()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, w = ctx.saved_tensors
        stride, padding, groups = ctx.conv
        # one call for both gradients, as autograd's own fp32 convolution backward makes it
        # (torch.nn.grad's two separate calls measured up to 2x slower on CPU)
        gx, gw, _ = torch.ops.aten.convolution_backward(
            grad.contiguous(memory_format=torch.channels_last) if x.is_contiguous(memory_format=torch.channels_last)
            else grad.contiguous(), x, w, None, [stride] * 2, [padding] * 2, [1, 1], False, [0, 0], groups,
            [ctx.needs_input_grad[0], ctx.needs_input_grad[1], False])
        return gx, gw, None, None, None


def bf16_forward_conv(x: torch.Tensor, w: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
    return Bf16ForwardConv.apply(x, w, stride, padding, groups)
