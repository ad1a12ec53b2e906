"""Arithmetic precision of the on-chip layers' convolutions during training (issue 14).

Why low precision is exact here: an on-chip layer's input is binary spikes (0/1) and its
weights are trinary (-1/0/+1), so every product is -1, 0 or +1 and a filter response is an
integer with |s| <= fan-in <= 128. bf16 holds every integer up to 256 exactly (8 significant
bits), so with fp32 accumulation (oneDNN, cuBLAS and
cuDNN accumulate bf16 products in fp32) the forward sums are bit-equal to fp32 ones, and so are the spikes and every batch statistic computed from them.

    setting  forward of the on-chip convolutions      backward (gradients)
    fp32     fp32                                      fp32
    bf16     bf16 inputs and weights, fp32 sums:       dL/ds rounded to bf16 before the two
             EXACT (= fp32 bit for bit)                 transposed products: gradients differ
                                                        from fp32 by bf16 rounding (~2^-9 relative)
    auto     the per-device default measured in benchmarks/train.py: fp32 on CPU, bf16 on CUDA

What never changes: the hidden weights, the batch-norm statistics and bias, the optimiser
state and the transduction layer (real-valued input) stay fp32; the low precision is used in
training mode only, so inference, the whole-training-set statistics, hardware mode and the
chip are the fp32/integer paths as before.

Why auto = fp32 on CPU: this project's CPU (AMD EPYC, AVX2, no AVX-512 BF16 or AMX) has no
bf16 matrix unit; torch emulates bf16 products there at 0.7 GFLOP/s against 20-64 GFLOP/s for
fp32 (benchmarks/RESULTS.md, "## train"). On a CPU with AVX-512 BF16/AMX, `bf16` may pay:
measure with benchmarks/train.py before choosing it.
"""

from __future__ import annotations

PRECISIONS = ("fp32", "bf16", "auto")   # no torch import here: the recipe checker uses this list


def resolve(precision: str, device) -> str:
    """'auto' -> the measured default for `device` ('fp32' on CPU, 'bf16' on CUDA); others as given."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if str(device).startswith("cuda") else "fp32"
    return precision


def compute_dtype(precision: str, device):
    """The torch dtype of the on-chip convolutions' operands, or None for fp32."""
    import torch

    return torch.bfloat16 if resolve(precision, device) == "bf16" else None
