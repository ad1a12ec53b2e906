"""The numba kernels of tnpipe.nn.fused_cpu against the torch rules they replace."""

import subprocess
import sys

import pytest
import torch

from tnpipe.nn import fused_cpu
from tnpipe.nn.layers import (
    BatchNormSpike,
    BatchNormSpikeCPU,
    SpikingBatchNorm,
    TrinaryConv,
    hysteresis_round,
)

pytestmark = pytest.mark.skipif(not fused_cpu.AVAILABLE, reason="numba is not installed")


def _pair(shape, channels_last=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(shape, generator=g).mul(3).round()   # integer responses, as on the chip
    s[:, 0] = 5.0                                          # a constant feature: variance at the floor
    if channels_last:
        s = s.contiguous(memory_format=torch.channels_last)
    b = torch.randn(shape[1], generator=g) * 0.3
    gy = torch.randn(shape, generator=g)
    out = []
    for rule in (BatchNormSpike, BatchNormSpikeCPU):
        sv, bv = s.clone().requires_grad_(), b.clone().requires_grad_()
        y, mu, sigma = rule.apply(sv, bv, 1e-4)
        (y * gy).sum().backward()
        out.append((y.detach(), mu.double(), sigma.double(), sv.grad, bv.grad))
    return out


@pytest.mark.parametrize("shape,channels_last", [((8, 16, 5, 7), True), ((4, 33, 6, 6), False), ((3, 5, 1, 1), True)])
def test_bn_spike_kernels_match_the_torch_rule(shape, channels_last):
    (y0, mu0, sg0, gs0, gb0), (y1, mu1, sg1, gs1, gb1) = _pair(shape, channels_last)
    assert torch.equal(y0, y1)                               # the spikes: exactly
    assert y1.shape == shape
    torch.testing.assert_close(mu1, mu0, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(sg1, sg0, rtol=1e-5, atol=1e-6)
    # gradients: same formula, float64 sums vs float32 sums -> close, not bit-equal (a
    # feature's dL/ds sums to ~0, so tiny entries are cancellation noise in both: absolute 1e-7)
    scale = gs0.abs().amax(dim=(0, 2, 3), keepdim=True)
    assert ((gs1 - gs0).abs() <= 1e-5 * scale + 1e-7).all()
    torch.testing.assert_close(gb1, gb0, rtol=1e-4, atol=1e-4)


def test_constant_feature_is_floored_not_nan():
    (_, _, _, gs0, _), (_, _, sigma, gs1, _) = _pair((8, 4, 3, 3))
    assert sigma[0].item() == pytest.approx(1e-6)            # sqrt of the 1e-12 floor
    assert torch.isfinite(gs1).all()


def test_spiking_batchnorm_uses_the_kernels_on_cpu_float32():
    bn = SpikingBatchNorm(6).train()
    s = torch.randn(2, 6, 4, 4).requires_grad_()
    y = bn(s)
    assert y.grad_fn is not None and "BatchNormSpikeCPU" in type(y.grad_fn).__name__
    y.sum().backward()
    assert s.grad.shape == s.shape and bn.bias.grad.shape == (6,)
    s64 = torch.randn(2, 6, 4, 4, dtype=torch.float64).requires_grad_()
    assert "BatchNormSpikeCPU" not in type(SpikingBatchNorm(6).double().train()(s64).grad_fn).__name__


def test_hysteresis_kernel_equals_the_rule_exactly():
    g = torch.Generator().manual_seed(1)
    hidden = torch.rand(4000, generator=g) * 3 - 1.5
    # exact boundary values of the dead bands and the clip
    edges = torch.tensor([0.4, -0.4, 0.6, -0.6, 0.5, -0.5, 1.0, -1.0, 0.0], dtype=torch.float32)
    hidden[: edges.numel()] = edges
    previous = torch.randint(-1, 2, (4000,), generator=g).float()
    expected = hysteresis_round(hidden.clamp(-1, 1), previous, 0.1)
    h, t = hidden.clone(), previous.clone()
    fused_cpu.hysteresis_update(h, t, 0.1)
    assert torch.equal(t, expected)
    assert torch.equal(h, hidden.clamp(-1, 1))


def test_trinary_conv_update_uses_the_kernel_and_keeps_the_rule():
    conv = TrinaryConv(8, 16, 3, 1, 1, 2)
    with torch.no_grad():
        conv.hidden.mul_(1.7)
    before = conv.trinary.clone()
    expected = hysteresis_round(conv.hidden.clamp(-1, 1), before, conv.hysteresis)
    conv.update_trinary()
    assert torch.equal(conv.trinary, expected)
    assert conv.hidden.abs().max() <= 1.0


def test_kernels_leave_torch_thread_count_alone():
    # numba's OpenMP pool resets the process's thread count when it STARTS, so this needs a
    # process in which no kernel has run yet (in this one, earlier tests may have started it)
    code = ("import torch; torch.set_num_threads(1); from tnpipe.nn import fused_cpu; "
            "s = torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last); "
            "fused_cpu.bn_spike_forward(s, torch.zeros(3), 1e-4); print(torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "1"
