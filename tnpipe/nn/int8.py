"""int8 products for the on-chip N and P layers: train.precision = "int8", and one of the
arithmetics `auto` measures (tnpipe/nn/probe.py).

Why it is exact: spikes (0/1) and trinary weights (-1/0/+1) are int8 numbers and
torch._int_mm sums them in int32, so a filter response (an integer, |s| <= fan-in <= 128)
equals the fp32 one bit for bit. Gradients are real-valued and would not be exact in int8,
so the backward is fp32's two transposed products, from the saved fp32 operands: int8 pays
only in the forward (a third of a layer's products).

Where: the layers that already run as matrix products on CPU (tnpipe.nn.precision.matmul_conv:
non-overlapping kernels, N and P); one int8 product per group. The 3x3 (S) layers would need
an im2col copy first and stay fp32 under "int8".
"""

from __future__ import annotations

import torch


class Int8Bmm(torch.autograd.Function):
    """a (G, P, K) @ b (G, K, F) with int8 operands and int32 sums -> (G, P, F) fp32;
    exact for operands in {-1, 0, 1}. Backward: torch.bmm's, in fp32."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
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
        return ga, gb


def int8_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return Int8Bmm.apply(a, b)
