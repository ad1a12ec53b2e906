"""Arithmetic precision of the on-chip layers' convolutions during training (issues 14, 18).

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
    bf16_fwd bf16 operands, fp32 (or exact bf16)       fp32 (from the saved fp32 operands):
             sums: EXACT; N/P layers as one bf16       gradients as fp32's up to summation order
             product per group (tnpipe.nn.lowfwd)
    int8     N and P layers as int8 x int8 -> int32    fp32 (from the saved fp32 operands);
             products (torch._int_mm; oneDNN           S layers (3x3) run fp32 throughout
             VNNI/AMX): EXACT (tnpipe.nn.lowfwd)
    fp8      e4m3 inputs and weights, fp32 sums:       fp32 (from the saved fp32 operands)
             EXACT; an experiment for GPUs with fp8 tensor cores, unmeasured (tnpipe/nn/fp8.py)
    auto     per on-chip layer SHAPE, the fastest of fp32 / bf16_fwd / int8 on this machine, by a
             short probe at start-up (forward + backward of each shape at the training batch),
             cached per machine (CPU model, flags, torch version, threads) in
             ~/.cache/tnpipe/precision-probe.json (TNPIPE_CACHE_DIR overrides; tnpipe/nn/probe.py).
             The choice and the measured times go into train.log and train.json.
    auto_bf16  auto with "bf16" (the rounded backward) among the candidates: opt-in, until
             paired accuracy runs show that bf16's backward trains as well as fp32's

What never changes: the hidden weights, the batch-norm statistics and bias, the optimiser
state and the transduction layer (real-valued input) stay fp32; the low precision is used in
training mode only, so inference, the whole-training-set statistics, hardware mode and the
chip are the fp32/integer paths as before. THE DEPLOYED NETWORK IS EXACT WHATEVER THE
TRAINING ARITHMETIC: export reads the trinary weights and the float64 thresholds, and
hardware mode and the chip compute integer sums; the arithmetic only changes how the
gradients round during training (and so which trinary weights training ends with).

Why measured, never assumed from the device type: the right arithmetic differs by machine
AND by layer shape. On an AVX2-only CPU torch emulates bf16 products (0.7 GFLOP/s against
20-64 for fp32); on an AMD EPYC with AVX-512 BF16 (no AMX) bf16 is ~2x fp32 on large
products yet slower on the small many-group layers (benchmarks/RESULTS.md, "## train"); on a
Xeon with AMX it was ~8x at 1024^3 (shared/reference/interop-and-training.md). A precision the machine lacks is refused in one line
(int8 without torch._int_mm, fp8 without fp8 products).
"""

from __future__ import annotations

import functools
import os

PRECISIONS = ("fp32", "bf16", "bf16_fwd", "int8", "fp8", "auto", "auto_bf16")   # no torch import: the recipe checker
# what `auto` chooses among, per layer shape (ties: the earlier): the exact forwards whose
# backward is fp32's (tnpipe.nn.lowfwd); "bf16" (bf16 backward) waits for paired accuracy runs
# and is a candidate only of the opt-in "auto_bf16"
ARITHMETICS = ("fp32", "bf16_fwd", "int8", "bf16")
AUTO = {"auto": ("fp32", "bf16_fwd", "int8"), "auto_bf16": ARITHMETICS}
FP32_BACKWARD = ("bf16_fwd", "int8", "fp8")   # low-precision forward only


def check(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    return precision


def compute_dtype(arithmetic: str):
    """The torch dtype of the on-chip convolutions' operands for one arithmetic (not 'auto'),
    or None for fp32."""
    import torch

    if check(arithmetic) in AUTO:
        raise ValueError(f"{arithmetic!r} is chosen per layer by tnpipe.nn.probe; it has no single dtype")
    return {"bf16": torch.bfloat16, "bf16_fwd": torch.bfloat16, "int8": torch.int8,
            "fp8": torch.float8_e4m3fn}.get(arithmetic)


def arithmetic_of(dtype, fp32_backward: bool) -> str:
    """compute_dtype's inverse: (None, _) -> 'fp32', (torch.bfloat16, True) -> 'bf16_fwd', ..."""
    import torch

    if dtype == torch.bfloat16:
        return "bf16_fwd" if fp32_backward else "bf16"
    return {None: "fp32", torch.int8: "int8", torch.float8_e4m3fn: "fp8"}[dtype]


@functools.cache
def int8_supported() -> bool:
    """torch._int_mm exists here and gives exact int32 sums (CPU: torch >= 2.4; oneDNN's
    VNNI/AMX kernels where the CPU has them, else a scalar loop, which the probe then finds slow)."""
    import torch

    try:
        a = torch.ones(17, 32, dtype=torch.int8)
        return bool(torch._int_mm(a, -a[:8].t().contiguous())[0, 0] == -32)
    except (RuntimeError, NotImplementedError, AttributeError, TypeError):
        return False


def matrix_layer(x, kernel: int, stride: int, padding: int) -> bool:
    """Where int8 or bf16_fwd run as low-precision matrix products (tnpipe.nn.lowfwd): the N
    and P layers (non-overlapping kernels) on a channels-last float32 CPU map."""
    import torch

    return (kernel == stride and padding == 0 and x.device.type == "cpu" and x.dtype == torch.float32
            and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))


# Non-overlapping on-chip convolutions (N: 1x1, P: 2x2 stride 2, no padding) as matrix
# products on the channels-last map, on CPU: the (N, H, W, C) map is already the (positions,
# features) matrix, so a 1x1 layer is one product (per group: a batched one) with no im2col,
# and a P layer only regroups each 2x2 window into a row. Measured ~5-20% faster per Eedn
# step than oneDNN's grouped convolution on this CPU (benchmarks/RESULTS.md, "## train").
# Exact: the same integer sums (any summation order is exact for |s| <= 128 in fp32).
# TNPIPE_MATMUL_CPU=0 (or MATMUL_CPU = False) keeps oneDNN's convolutions, e.g. to compare.
MATMUL_CPU = os.environ.get("TNPIPE_MATMUL_CPU", "1") != "0"


def matmul_applies(x, kernel: int, stride: int, padding: int) -> bool:
    """True where a TrinaryConv runs as matrix products: a non-overlapping kernel on a
    channels-last float32 CPU map, with MATMUL_CPU on."""
    import torch

    return (MATMUL_CPU and kernel == stride and padding == 0 and x.device.type == "cpu"
            and x.dtype == torch.float32 and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))


# An experiment kept as a setting, OFF by default: overlapping (3x3) convolutions with many
# groups (the 1chip network's S-512(32), S-1024(64)) run faster alone in NCHW than in
# oneDNN's channels-last kernel (forward + backward 0.47 vs 1.13 and 0.33 vs 0.56 ms per
# image), but whole training steps were not faster with the conversions in and out (1chip
# 98.8 vs 110.3 img/s, 85.1 vs 86.0; benchmarks/RESULTS.md, "## train"). TNPIPE_NCHW_MIN_GROUPS=32
# turns it on; exact either way (the same integer sums).
def _env_groups(name: str) -> int:
    value = os.environ.get(name, "0")
    if not value.isdigit():
        raise SystemExit(f"error: environment {name}={value!r}: expected a whole number of groups (0 = off)")
    return int(value)


NCHW_MIN_GROUPS = _env_groups("TNPIPE_NCHW_MIN_GROUPS")


def nchw_applies(x, groups: int) -> bool:
    """True where an overlapping on-chip convolution runs in NCHW: a float32 CPU map and at
    least NCHW_MIN_GROUPS groups (NCHW_MIN_GROUPS > 0)."""
    import torch

    return 0 < NCHW_MIN_GROUPS <= groups and x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4


def matmul_conv(x, w, groups: int, product=None):
    """conv2d(x, w, stride=k, groups) for a k x k kernel of stride k, as (batched) matrix
    products on the channels-last map; -> a channels-last (N, C_out, H/k, W/k) tensor.
    `product(rows (groups, positions, K), weights (groups, K, features))` replaces torch.bmm
    (e.g. tnpipe.nn.lowfwd.int8_bmm)."""
    import torch

    n, c, h, wd = x.shape
    cout, cg, k = w.shape[0], c // groups, w.shape[-1]
    ho, wo = h // k, wd // k
    rows = x.permute(0, 2, 3, 1)                                    # (N, H, W, C): a view
    if k > 1:   # each k x k window -> one row of (ky, kx, c) per group
        rows = rows[:, :ho * k, :wo * k].reshape(n, ho, k, wo, k, groups, cg).permute(0, 1, 3, 5, 2, 4, 6)
    rows = rows.reshape(n * ho * wo, groups, k * k * cg)
    wm = w.view(groups, cout // groups, cg, k, k).permute(0, 3, 4, 2, 1).reshape(groups, k * k * cg, cout // groups)
    if product is not None:
        s = product(rows.transpose(0, 1), wm).transpose(0, 1)
    elif groups == 1:
        s = rows[:, 0] @ wm[0]
    else:
        s = torch.bmm(rows.transpose(0, 1), wm).transpose(0, 1)     # (positions, groups, features per group)
    return s.reshape(n, ho, wo, cout).permute(0, 3, 1, 2)
