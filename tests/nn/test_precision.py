"""train.precision: the low-precision forward of the on-chip layers is exact (issue 14).

Spikes are 0/1 and synapses -1/0/+1, so a filter response is an integer |s| <= fan-in <= 128,
which bf16 holds exactly; with fp32 accumulation the bf16 convolution must equal the fp32 one
bit for bit, for every convolution shape Eedn's CIFAR-10 networks use.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from tnpipe.errors import RecipeError
from tnpipe.netspec import parse_network
from tnpipe.nn import fp8
from tnpipe.nn.network import EednNet, build_network
from tnpipe.nn.precision import compute_dtype
from tnpipe.nn.train_section import TrainCfg
from tnpipe.recipe import load_recipe

RECIPE = load_recipe("recipes/cifar10.toml")


def _conv_shapes():
    """Every distinct on-chip convolution (kind, C_in, C_out, groups) of the cifar10 networks."""
    seen = {}
    for name in ("cpu", "half", "1chip", "2chip", "4chip", "8chip"):
        for ls in parse_network(RECIPE.network(name), (3, 32, 32), 10).chip_layers:
            seen.setdefault((ls.kind, ls.in_channels, ls.out_channels, ls.groups), ls)
    return list(seen.values())


SHAPES = _conv_shapes()


def _bf16_equals_fp32(ls, x, w):
    args = (None, ls.stride, ls.padding, 1, ls.groups)
    ref = F.conv2d(x, w, *args)
    low = F.conv2d(x.bfloat16(), w.bfloat16(), *args)
    return ref, low.float()


def test_the_shapes_cover_fan_in_128_and_the_largest_group_counts():
    assert max(ls.fan_in for ls in SHAPES) == 128
    assert max(ls.groups for ls in SHAPES) == 256          # 8chip S-4096(256)
    assert {ls.kind for ls in SHAPES} == {"S", "N", "P", "P4"}
    assert len(SHAPES) >= 30


def test_bf16_sums_equal_fp32_bit_for_bit_on_every_eedn_shape():
    gen = torch.Generator().manual_seed(0)
    for i, ls in enumerate(SHAPES):
        density = (0.1, 0.5, 0.95)[i % 3]   # sparse to nearly all-firing inputs
        hw = min(ls.in_hw[0], 4)   # exactness is per dot product (fan-in); a small map keeps it fast
        x = (torch.rand(2, ls.in_channels, hw, hw, generator=gen) < density).float()
        x = x.contiguous(memory_format=torch.channels_last)
        w = torch.randint(-1, 2, (ls.out_channels, ls.fan_in // ls.kernel ** 2, ls.kernel, ls.kernel),
                          generator=gen).float()
        ref, low = _bf16_equals_fp32(ls, x, w)
        assert torch.equal(ref, low), ls.token
        assert ref.abs().max() <= ls.fan_in


def test_bf16_sums_at_the_extremes_of_fan_in_128():
    ls = parse_network("S-16 N-128", (128, 4, 4), 10).chip_layers[0]
    x = torch.ones(1, 128, 4, 4)
    for sign in (1.0, -1.0):
        ref, low = _bf16_equals_fp32(ls, x, torch.full((128, 128, 1, 1), sign))
        assert torch.equal(ref, low) and low.flatten()[0].item() == 128 * sign


def test_real_valued_input_is_not_exact_in_bf16():
    """Why the transduction layer stays fp32: real inputs round in bf16."""
    ls = parse_network("S-16 N-128", (128, 4, 4), 10).chip_layers[0]
    x = torch.randn(2, 128, 4, 4, generator=torch.Generator().manual_seed(0))
    ref, low = _bf16_equals_fp32(ls, x, torch.randint(-1, 2, (128, 128, 1, 1)).float())
    assert not torch.equal(ref, low)


def _pair(precision: str):
    torch.manual_seed(3)
    a = build_network("S-8 P4-64(2) S-64(8) P-128(8) N-120(4)", (3, 8, 8), 10, dropout=0.0)
    b = build_network("S-8 P4-64(2) S-64(8) P-128(8) N-120(4)", (3, 8, 8), 10, dropout=0.0)
    b.load_state_dict(a.state_dict())
    assert b.set_precision(precision).startswith(precision)
    return a, b


def _step(model: EednNet, x, y):
    model.train()
    model.track_rates = True
    votes = model(x)
    loss = F.cross_entropy(votes * 0.05, y)
    loss.backward()
    return votes, loss, model.rates


def _steps_with_equal_spikes(precision: str):
    """One training step of an fp32 model and of its copy at `precision`, asserting that the
    votes, the loss and every layer's spike rates are bit-equal; -> (fp32, low) models."""
    a, b = _pair(precision)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 3, 8, 8, generator=gen), torch.randint(0, 10, (8,), generator=gen)
    va, la, ra = _step(a, x, y)
    vb, lb, rb = _step(b, x, y)
    assert torch.equal(va, vb) and torch.equal(la, lb)
    assert all(torch.equal(p, q) for p, q in zip(ra, rb, strict=True))
    return a, b


def test_a_bf16_training_step_has_the_fp32_spikes_and_near_fp32_gradients():
    """Forward: votes, loss and every layer's spike rates bit-equal. Backward: dL/ds is
    rounded to bf16 before the convolution's transposed products, so the gradients of the
    hidden weights and of every bias below the last layer differ by bf16 rounding; the last
    layer's bias gradient comes straight from the fp32 votes and is equal."""
    a, b = _steps_with_equal_spikes("bf16")
    assert b.chip[0].conv.compute_dtype == torch.bfloat16 and a.chip[0].conv.compute_dtype is None
    assert torch.equal(a.chip[-1].bn.bias.grad, b.chip[-1].bn.bias.grad)
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        err = (p.grad - q.grad).norm() / p.grad.norm().clamp_min(1e-30)
        assert err < 2e-2, name
    assert not torch.equal(a.chip[0].conv.hidden.grad, b.chip[0].conv.hidden.grad)  # bf16 really ran


def test_precision_leaves_inference_and_the_transduction_layer_in_fp32():
    a, b = _pair("bf16")
    assert not hasattr(b.transduction.conv, "compute_dtype")
    a.eval()
    b.eval()
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a(x), b(x))


def test_explicit_precisions_set_every_on_chip_layer():
    assert compute_dtype("fp32") is None and compute_dtype("bf16") == torch.bfloat16
    assert compute_dtype("int8") == torch.int8
    net = build_network("S-8 P4-64(2) N-120(4)", (3, 16, 16), 10)
    assert net.set_precision("bf16", "cpu") == "bf16" and net.arithmetics() == ["bf16", "bf16"]
    assert net.set_precision("fp32", "cpu") == "fp32"
    assert all(layer.conv.compute_dtype is None for layer in net.chip)


def test_bad_precision_is_one_line_naming_the_setting():
    with pytest.raises(RecipeError) as err:
        TrainCfg(precision="fp16").validate("recipes/x.toml [train]")
    assert str(err.value) == "recipes/x.toml [train].precision: 'fp16' is not one of fp32, bf16, bf16_fwd, int8, fp8, auto, auto_bf16"
    with pytest.raises(ValueError, match="precision 'int4' is not one of fp32, bf16, bf16_fwd, int8, fp8, auto, auto_bf16"):
        compute_dtype("int4")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_sums_equal_fp32_on_every_eedn_shape():
    gen = torch.Generator().manual_seed(5)
    torch.backends.cudnn.allow_tf32 = False   # the fp32 reference itself must be exact
    for ls in SHAPES:
        x = (torch.rand(4, ls.in_channels, *ls.in_hw, generator=gen) < 0.5).float().cuda()
        w = torch.randint(-1, 2, (ls.out_channels, ls.fan_in // ls.kernel ** 2, ls.kernel, ls.kernel),
                          generator=gen).float().cuda()
        ref, low = _bf16_equals_fp32(ls, x, w)
        assert torch.equal(ref, low), ls.token


def test_pooling_and_1x1_layers_as_matrix_products_equal_the_convolution():
    """N and P layers run as (batched) matrix products on CPU: forward bit-equal to conv2d on
    every such cifar10 shape (integer sums), gradients equal up to fp32 summation order."""
    from tnpipe.nn.layers import TrinaryConv
    from tnpipe.nn.precision import matmul_applies, matmul_conv

    gen = torch.Generator().manual_seed(4)
    done = 0
    for ls in SHAPES:
        if ls.kind not in ("N", "P"):
            continue
        hw = min(ls.in_hw[0], 4) + (1 if ls.kind == "P" else 0)  # odd size: P drops the last row, as conv does
        x = (torch.rand(2, ls.in_channels, hw, hw, generator=gen) < 0.5).float()
        x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        conv = TrinaryConv(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding, ls.groups)
        assert matmul_applies(x, ls.kernel, ls.stride, ls.padding)
        ref = F.conv2d(x, conv.trinary, None, ls.stride, ls.padding, 1, ls.groups)
        out = conv(x)
        assert torch.equal(ref, out) and out.is_contiguous(memory_format=torch.channels_last), ls.token
        assert torch.equal(matmul_conv(x, conv.trinary, ls.groups), ref)
        g = torch.randn(ref.shape, generator=gen)
        gx_ref, = torch.autograd.grad(ref, x, g)
        gx, gw = torch.autograd.grad(out, (x, conv.hidden), g)
        assert torch.allclose(gx, gx_ref, rtol=1e-5, atol=1e-5)
        gw_ref, = torch.autograd.grad(F.conv2d(x, conv.hidden, None, ls.stride, ls.padding, 1, ls.groups), conv.hidden, g)
        assert torch.allclose(gw, gw_ref, rtol=1e-5, atol=1e-4)
        done += 1
    assert done >= 15
    assert not matmul_applies(torch.zeros(1, 4, 4, 4), 1, 1, 0)            # NCHW map: conv2d
    assert not matmul_applies(torch.zeros(1, 4, 4, 4).bfloat16().contiguous(memory_format=torch.channels_last), 1, 1, 0)


def test_many_group_3x3_layers_in_nchw_give_the_same_sums_and_a_channels_last_map(monkeypatch):
    """With the NCHW experiment on, S layers of >= NCHW_MIN_GROUPS groups convolve in NCHW on
    CPU: the forward is bit-equal to the channels-last conv2d, the output stays channels-last
    (the batch-norm kernels read it as rows), the input gradient equal up to summation order."""
    from tnpipe.nn import precision
    from tnpipe.nn.layers import TrinaryConv

    assert precision.NCHW_MIN_GROUPS == 0 or "TNPIPE_NCHW_MIN_GROUPS" in os.environ   # off by default
    monkeypatch.setattr(precision, "NCHW_MIN_GROUPS", 32)

    gen = torch.Generator().manual_seed(5)
    many = [ls for ls in SHAPES if ls.kind == "S" and ls.groups >= precision.NCHW_MIN_GROUPS]
    assert len(many) >= 3 and precision.NCHW_MIN_GROUPS > 0
    for ls in many:
        x = (torch.rand(2, ls.in_channels, 4, 4, generator=gen) < 0.5).float()
        x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        conv = TrinaryConv(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding, ls.groups)
        assert precision.nchw_applies(x, ls.groups)
        ref = F.conv2d(x, conv.trinary.contiguous(memory_format=torch.channels_last), None, ls.stride, ls.padding,
                       1, ls.groups)
        out = conv(x)
        assert torch.equal(ref, out) and out.is_contiguous(memory_format=torch.channels_last), ls.token
        g = torch.randn(ref.shape, generator=gen)
        gx_ref, = torch.autograd.grad(ref, x, g)
        gx, = torch.autograd.grad(out, x, g)
        assert torch.allclose(gx, gx_ref, rtol=1e-5, atol=1e-5)
    assert not precision.nchw_applies(torch.zeros(1, 4, 4, 4), precision.NCHW_MIN_GROUPS - 1)
    assert not precision.nchw_applies(torch.zeros(1, 4, 4, 4).bfloat16(), precision.NCHW_MIN_GROUPS)


NEEDS_FP8 = pytest.mark.skipif(not fp8.supported("cpu"), reason="this torch has no fp8 products on CPU")


@NEEDS_FP8
def test_fp8_sums_equal_fp32_bit_for_bit_on_every_eedn_shape_and_gradients_are_fp32():
    """train.precision = "fp8" (tnpipe.nn.fp8): e4m3 operands, fp32 sums -> the forward equals
    conv2d bit for bit on all 31 on-chip shapes (padding, strides, groups, fan-in 128); the
    backward is fp32's. Run on CPU, where torch emulates the fp8 products."""
    gen = torch.Generator().manual_seed(6)
    for i, ls in enumerate(SHAPES):
        hw = min(ls.in_hw[0], 4) + (1 if i % 2 else 0)   # odd sizes too: strided layers drop the last row
        x = (torch.rand(2, ls.in_channels, hw, hw, generator=gen) < (0.1, 0.5, 0.95)[i % 3]).float()
        x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        w = torch.randint(-1, 2, (ls.out_channels, ls.fan_in // ls.kernel ** 2, ls.kernel, ls.kernel),
                          generator=gen).float().requires_grad_(True)
        args = (ls.stride, ls.padding, ls.groups)
        ref, low = F.conv2d(x, w, None, ls.stride, ls.padding, 1, ls.groups), fp8.fp8_conv(x, w, *args)
        assert torch.equal(ref, low) and low.is_contiguous(memory_format=torch.channels_last), ls.token
        g = torch.randn(ref.shape, generator=gen)
        for a, b in zip(torch.autograd.grad(ref, (x, w), g), torch.autograd.grad(low, (x, w), g), strict=True):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-4), ls.token   # fp32, summed in another order


@NEEDS_FP8
def test_fp8_sums_at_the_extremes_of_fan_in_128():
    x = torch.ones(1, 128, 2, 2)
    for sign in (1.0, -1.0):
        s = fp8.fp8_conv(x, torch.full((128, 128, 1, 1), sign), 1, 0, 1)
        assert torch.equal(s, torch.full((1, 128, 2, 2), 128 * sign))


@NEEDS_FP8
def test_an_fp8_training_step_has_the_fp32_spikes_and_gradients():
    a, b = _steps_with_equal_spikes("fp8")
    assert b.chip[0].conv.compute_dtype == torch.float8_e4m3fn
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), name


def test_fp8_is_never_auto_and_is_refused_where_there_are_no_fp8_products(monkeypatch):
    from tnpipe.errors import TrainingError
    from tnpipe.nn.precision import ARITHMETICS
    assert "fp8" not in ARITHMETICS    # auto chooses among these only
    monkeypatch.setattr(fp8, "supported", lambda device: False)
    net = build_network("S-8 P4-64(2) N-120(4)", (3, 16, 16), 10)
    with pytest.raises(TrainingError, match=r"train.precision = 'fp8': cpu has no fp8 products"):
        net.set_precision("fp8", "cpu")


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 9),
                    reason="needs a CUDA device with fp8 products (compute capability >= 8.9)")
def test_cuda_fp8_sums_equal_fp32_on_every_eedn_shape():
    gen = torch.Generator().manual_seed(7)
    torch.backends.cudnn.allow_tf32 = False
    for ls in SHAPES:
        x = (torch.rand(4, ls.in_channels, *ls.in_hw, generator=gen) < 0.5).float().cuda()
        w = torch.randint(-1, 2, (ls.out_channels, ls.fan_in // ls.kernel ** 2, ls.kernel, ls.kernel),
                          generator=gen).float().cuda()
        ref = F.conv2d(x, w, None, ls.stride, ls.padding, 1, ls.groups)
        assert torch.equal(ref, fp8.fp8_conv(x, w, ls.stride, ls.padding, ls.groups)), ls.token


def test_a_bad_nchw_groups_variable_is_one_line_naming_it(monkeypatch):
    from tnpipe.nn import precision

    monkeypatch.setenv("TNPIPE_NCHW_MIN_GROUPS", "lots")
    with pytest.raises(SystemExit, match=r"^error: environment TNPIPE_NCHW_MIN_GROUPS='lots': expected a whole number"):
        precision._env_groups("TNPIPE_NCHW_MIN_GROUPS")
    monkeypatch.setenv("TNPIPE_NCHW_MIN_GROUPS", "32")
    assert precision._env_groups("TNPIPE_NCHW_MIN_GROUPS") == 32
