"""Eedn layers: hysteresis, triangle derivative, batch norm, builder, hardware mode, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnpipe.artifacts import NetworkDescription
from tnpipe.errors import NetworkSpecError
from tnpipe.nn.hardware import export_description, hardware_forward, hardware_votes, leak_from_theta
from tnpipe.nn.layers import (
    SpikingBatchNorm,
    TrinaryConv,
    TrinaryWeight,
    VoteReadout,
    hysteresis_round,
    sparsity_penalty,
    spike,
)
from tnpipe.nn.network import build_network
from tnpipe.nn.stats import set_full_set_statistics


def test_hysteresis_rule_on_hand_built_values():
    hidden = torch.tensor([0.60, 0.59, 0.41, 0.40, 0.0, -0.40, -0.41, -0.59, -0.60, 1.0, -1.0])
    from_zero = hysteresis_round(hidden, torch.zeros(11))
    assert from_zero.tolist() == [1, 0, 0, 0, 0, 0, 0, 0, -1, 1, -1]
    from_plus = hysteresis_round(hidden, torch.ones(11))
    assert from_plus.tolist() == [1, 1, 1, 0, 0, 0, 1, 1, -1, 1, -1]
    from_minus = hysteresis_round(hidden, -torch.ones(11))
    assert from_minus.tolist() == [1, -1, -1, 0, 0, 0, -1, -1, -1, 1, -1]


def test_trinary_conv_clips_hidden_and_keeps_state_in_dead_band():
    conv = TrinaryConv(1, 1, 1, 1, 0, 1)
    with torch.no_grad():
        conv.hidden.copy_(torch.tensor([[[[3.0]]]]))
    conv.update_trinary()
    assert conv.hidden.item() == 1.0 and conv.trinary.item() == 1.0
    with torch.no_grad():
        conv.hidden.fill_(0.45)   # dead band: stays +1
    conv.update_trinary()
    assert conv.trinary.item() == 1.0
    with torch.no_grad():
        conv.hidden.fill_(0.4)    # |w_h| <= 0.4: zero
    conv.update_trinary()
    assert conv.trinary.item() == 0.0


def test_trinary_weight_is_straight_through():
    hidden = torch.tensor([0.3, -0.7, 0.55], requires_grad=True)
    tri = torch.tensor([0.0, -1.0, 1.0])
    w = TrinaryWeight.apply(hidden, tri)
    assert w.tolist() == [0.0, -1.0, 1.0]
    (w * torch.tensor([2.0, 3.0, 4.0])).sum().backward()
    assert hidden.grad.tolist() == [2.0, 3.0, 4.0]


def test_spike_forward_and_triangle_derivative():
    r = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.25, 1.0, 3.0], requires_grad=True)
    y = spike(r)
    assert y.tolist() == [0, 0, 0, 1, 1, 1, 1]
    y.sum().backward()
    assert r.grad.tolist() == [0.0, 0.0, 0.5, 1.0, 0.75, 0.0, 0.0]


def test_batch_norm_uses_std_plus_eps_and_bias():
    bn = SpikingBatchNorm(1)
    with torch.no_grad():
        bn.bias.fill_(0.5)
    s = torch.tensor([0.0, 2.0, 4.0, 6.0]).view(4, 1, 1, 1)   # mu 3, sigma sqrt(5)
    r_expected = (s - 3.0) / (5 ** 0.5 + 1e-4) + 0.5
    y = bn(s)
    assert y.flatten().tolist() == (r_expected >= 0).float().flatten().tolist() == [0, 1, 1, 1]
    # inference: the same decision from stored statistics, as s >= theta
    bn.eval()
    bn.mean.fill_(3.0)
    bn.std.fill_(5 ** 0.5)
    assert bn(s).flatten().tolist() == [0, 1, 1, 1]
    assert bn.theta().item() == pytest.approx(3.0 - 0.5 * (5 ** 0.5 + 1e-4))


def test_batch_norm_constant_feature_has_finite_gradient():
    bn = SpikingBatchNorm(1)
    s = torch.zeros(4, 1, 2, 2, requires_grad=True)
    bn(s).sum().backward()
    assert torch.isfinite(s.grad).all() and torch.isfinite(bn.bias.grad).all()


def test_vote_readout_and_sparsity():
    ro = VoteReadout(torch.tensor([0, 1, 0, 1, 2]), 3)
    spikes = torch.zeros(1, 5, 2, 2)
    spikes[0, 0] = 1          # 4 votes for class 0
    spikes[0, 3, 0, 0] = 1    # 1 vote for class 1
    spikes[0, 4, 1, :] = 1    # 2 votes for class 2
    assert ro(spikes).tolist() == [[4.0, 1.0, 2.0]]
    pen = sparsity_penalty([torch.tensor([0.5, 1.0]), torch.tensor([0.2])], gamma=1e-4)
    assert pen.item() == pytest.approx(0.5 * 1e-4 * (0.25 + 1.0 + 0.04))


def test_builder_layers_and_dropout():
    net = build_network("S-8 P4-64(2) D N-64(2) S-40(8)", (3, 16, 16), 10, dropout=0.3)
    assert len(net.chip) == 3
    assert net.chip[0].dropout is None and net.chip[1].dropout.p == 0.3 and net.chip[2].dropout is None
    assert tuple(net.chip[0].conv.hidden.shape) == (64, 4, 4, 4)
    assert tuple(net.chip[2].conv.hidden.shape) == (40, 8, 3, 3)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)


@pytest.mark.parametrize("text, message", [
    ("S-8 S-40", "fan-in 3x3x8/1 = 72"),  # fine: used as the positive control below
    ("S-16 S-40", "layer 1 'S-40': fan-in 3x3x16/1 = 144 exceeds the limit of 128"),
    ("S-16 Q-40", "token 2 'Q-40': unknown layer token"),
])
def test_builder_errors(text, message):
    if text == "S-8 S-40":
        build_network(text, (3, 8, 8), 4)
        return
    with pytest.raises(NetworkSpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_network(text, (3, 8, 8), 4)


def test_leak_formula_and_clamp():
    # theta = mu - b(sigma+eps); L = floor(-theta) + 1; integer -theta = 2 -> L = 3 (paper's ceil: 2)
    assert leak_from_theta(np.array([-2.0, -2.5, 0.3, 500.0, -500.0]), 9).tolist() == [3, 3, 0, -9, 10]


def _random_net(seed: int, exact_boundaries: bool):
    torch.manual_seed(seed)
    net = build_network("S-6 P4-32(2) N-24(2) S-30(6) P-20(2)", (3, 12, 12), 4)
    for layer in net.chip:
        with torch.no_grad():
            layer.conv.hidden.uniform_(-1, 1)
        layer.conv.update_trinary()
        c = layer.bn.bias.numel()
        with torch.no_grad():
            layer.bn.mean.copy_(torch.randn(c, dtype=torch.float64) * 2)
            layer.bn.std.copy_(torch.rand(c, dtype=torch.float64) * 3 + 0.5)
            if exact_boundaries:
                # b(sigma + eps) - mu is an integer: the case the paper's ceil gets wrong
                k = torch.randint(-3, 4, (c,)).double()
                layer.bn.mean.copy_(torch.randint(-2, 3, (c,)).double())
                layer.bn.std.fill_(0.9999)  # sigma + eps = 1 exactly
                layer.bn.bias.copy_((k + layer.bn.mean).float())
            else:
                layer.bn.bias.copy_(torch.randn(c))
    return net.eval()


@pytest.mark.parametrize("seed, exact", [(0, False), (1, False), (2, True), (3, True)])
def test_hardware_mode_equals_float_graph_exactly(seed, exact):
    net = _random_net(seed, exact)
    x = torch.randn(64, 3, 12, 12)
    with torch.no_grad():
        spikes = net.transduce(x)
        float_last = net.chip_forward(spikes)
        float_votes = net.readout(float_last)
    desc = export_description(net)
    hw_last = hardware_forward(desc, spikes.to(torch.uint8).numpy())
    assert hw_last.dtype == np.uint8
    assert np.array_equal(hw_last, float_last.to(torch.uint8).numpy())
    assert np.array_equal(hardware_votes(desc, spikes.numpy()), float_votes.numpy().astype(np.int64))
    assert 0 < float_last.mean() < 1  # not a degenerate all-0 / all-1 network
    if exact:  # some responses sit exactly on the threshold (r = 0 must spike)
        with torch.no_grad():
            s = net.chip[0].conv(spikes).double()
        assert int((s == net.chip[0].bn.theta().view(1, -1, 1, 1)).sum()) > 0


def test_full_set_statistics_are_whole_set_moments():
    torch.manual_seed(0)
    net = build_network("S-4 N-8", (2, 4, 4), 2)
    x = torch.randn(50, 2, 4, 4)
    set_full_set_statistics(net, x, batch_size=7)
    with torch.no_grad():
        s0 = net.transduction.conv(net.normalise(x)).double()
        assert torch.allclose(net.transduction.bn.mean, s0.mean(dim=(0, 2, 3)))
        assert torch.allclose(net.transduction.bn.std, s0.std(dim=(0, 2, 3), unbiased=False))
        s1 = net.chip[0].conv(net.transduce(x)).double()  # under the fixed layer-0 statistics
        assert torch.allclose(net.chip[0].bn.mean, s1.mean(dim=(0, 2, 3)))
    assert net.training


def test_export_round_trip(tmp_path):
    net = _random_net(5, False)
    desc = export_description(net)
    assert [layer.weights.dtype for layer in desc.layers] == [np.int8] * 4
    assert [layer.leak.dtype for layer in desc.layers] == [np.int16] * 4
    assert desc.input_shape == (6, 12, 12) and desc.num_classes == 4
    assert desc.class_of_feature.tolist() == [i % 4 for i in range(20)]
    desc.save(tmp_path / "network.npz")
    back = NetworkDescription.load(tmp_path / "network.npz")
    assert back.network == desc.network
    for a, b in zip(desc.layers, back.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.leak, b.leak)
        assert a.geometry() == b.geometry()
        assert set(np.unique(a.weights)) <= {-1, 0, 1}
        assert a.leak.min() >= -a.fan_in and a.leak.max() <= a.fan_in + 1


def _reference_bn_spike_surrogate(s, b, eps=1e-4):
    """The unfused formula with autograd; the spike replaced by its surrogate r -> y' = r (so
    the triangle factor appears as an explicit weight in the check below)."""
    mu = s.mean(dim=(0, 2, 3), keepdim=True)
    sigma = (s - mu).square().mean(dim=(0, 2, 3), keepdim=True).sqrt()
    return (s - mu) / (sigma + eps) + b.view(1, -1, 1, 1)


def test_fused_batch_norm_spike_gradient_matches_autograd():
    from tnpipe.nn.layers import BatchNormSpike

    torch.manual_seed(0)
    s = (torch.randn(6, 3, 4, 4, dtype=torch.float64) * 3).requires_grad_()
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    gy = torch.randn(6, 3, 4, 4, dtype=torch.float64)
    y, _, _ = BatchNormSpike.apply(s, b, 1e-4)
    y.backward(gy)
    s2, b2 = s.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    r = _reference_bn_spike_surrogate(s2, b2)
    assert torch.equal(y, (r >= 0).double())
    tri = (1 - r.detach().abs()).clamp(min=0)
    (r * (gy * tri)).sum().backward()
    assert torch.allclose(s.grad, s2.grad, atol=1e-10) and torch.allclose(b.grad, b2.grad, atol=1e-10)
