"""train.precision = "auto" (tnpipe.nn.probe) and the exact low-precision forwards (tnpipe.nn.lowfwd).

The probe's choice is tested with a fake measurement (times are never asserted): auto never
picks an arithmetic slower than one measured faster, the cache is per machine and shape, and
every arithmetic it can pick has the fp32 forward bit for bit.
"""

from __future__ import annotations

import json
import random

import pytest
import torch
import torch.nn.functional as F
from test_precision import SHAPES, _steps_with_equal_spikes  # noqa: E402

from tnpipe.errors import TrainingError
from tnpipe.netspec import parse_network
from tnpipe.nn import lowfwd, precision, probe
from tnpipe.nn.network import build_network
from tnpipe.nn.precision import ARITHMETICS

NET = "S-8 P4-64(2) S-64(8) P-128(8) N-120(4)"
SPEC = parse_network(NET, (3, 8, 8), 10)
NEEDS_INT8 = pytest.mark.skipif(not precision.int8_supported(), reason="this torch has no torch._int_mm on CPU")


class FakeProbe:
    """Stands in for probe.measure_layers: given times per (layer token, arithmetic), counts calls."""

    def __init__(self, times):
        self.times, self.calls = times, []

    def __call__(self, layers, arms, batch, device):
        self.calls.append([ls.token for ls in layers])
        return [{a: self.times(ls, a) for a in names} for ls, names in zip(layers, arms, strict=True)]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(probe.CACHE_ENV, str(tmp_path))
    return tmp_path / probe.PROBE_FILE


def _slower_picks(choice) -> list:
    """Layers where the choice is slower than another measured arithmetic, or a tie not won
    by the earlier of ARITHMETICS (the more precise backward)."""
    bad = []
    for c in choice.layers:
        ms = c.ms_per_image
        best = min(ms.values())
        if ms[c.arithmetic] > best or c.arithmetic != [a for a in ARITHMETICS if ms.get(a) == best][0]:
            bad.append(c)
    return bad


def _random_choices(seed: int, trials: int = 200):
    rng = random.Random(seed)
    for _ in range(trials):
        table = {}
        fake = FakeProbe(lambda ls, a, table=table: table.setdefault((ls.token, a), rng.choice([0.5, 1, 1, 2, 3])))
        yield probe.choose(SPEC, 16, "cpu", measure=fake, use_cache=False)


def test_auto_never_picks_an_arithmetic_slower_than_one_measured_faster(cache, monkeypatch):
    assert not any(_slower_picks(c) for c in _random_choices(0))
    # negative control: a chooser that keeps the last arithmetic measured is caught
    monkeypatch.setattr(probe, "fastest", lambda ms, allowed: list(ms)[-1])
    assert any(_slower_picks(c) for c in _random_choices(0))


def test_auto_follows_the_measurement_per_layer_shape(cache):
    def times(ls, a):   # bf16 wins on the grouped 3x3 layer only, int8 on the N layer only
        return {"S": {"bf16_fwd": 0.5}, "N": {"int8": 0.25}}.get(ls.kind, {}).get(a, 1.0)

    choice = probe.choose(SPEC, 16, "cpu", measure=FakeProbe(times))
    int8_here = precision.int8_supported()
    assert choice.per_layer == ["fp32", "bf16_fwd", "fp32", "int8" if int8_here else "fp32"]
    net = build_network(NET, (3, 8, 8), 10)
    assert net.set_precision("auto", "cpu", choice) == choice.summary()
    assert net.arithmetics() == choice.per_layer
    # int8 is timed only where it applies: the non-overlapping N and P layers
    assert [("int8" in c.ms_per_image) for c in choice.layers] == [False, False, int8_here, int8_here]


def test_the_probe_is_cached_per_machine_and_shape(cache, monkeypatch):
    fake = FakeProbe(lambda ls, a: 1.0)
    first = probe.choose(SPEC, 16, "cpu", measure=fake)
    assert fake.calls == [["P4-64(2)", "S-64(8)", "P-128(8)", "N-120(4)"]] and first.measured == 4
    again = probe.choose(SPEC, 16, "cpu", measure=fake)
    assert len(fake.calls) == 1 and again.measured == 0 and again.per_layer == first.per_layer
    stored = json.loads(cache.read_text())
    assert stored["format"] == probe.PROBE_FORMAT and list(stored["machines"]) == [probe.machine_key("cpu")]
    # another batch is another shape; another machine (here: thread count) measures again
    probe.choose(SPEC, 8, "cpu", measure=fake)
    assert len(fake.calls) == 2
    monkeypatch.setattr(probe, "machine_key", lambda device="cpu": "another machine")
    probe.choose(SPEC, 16, "cpu", measure=fake)
    assert len(fake.calls) == 3 and len(json.loads(cache.read_text())["machines"]) == 2
    # a damaged cache file is measured over, not an error
    cache.write_text("{not json")
    assert probe.choose(SPEC, 16, "cpu", measure=fake).measured == 4


def test_auto_bf16_adds_the_rounded_backward_and_shares_the_cache(cache):
    fake = FakeProbe(lambda ls, a: {"bf16": 0.5, "int8": 0.75}.get(a, 1.0))
    wide = probe.choose(SPEC, 16, "cpu", measure=fake, setting="auto_bf16")
    assert wide.per_layer == ["bf16"] * 4 and wide.summary() == "auto_bf16 (bf16 x4)"
    assert all(set(arms) >= {"fp32", "bf16_fwd", "bf16"} for arms in [c.ms_per_image for c in wide.layers])
    plain = probe.choose(SPEC, 16, "cpu", measure=fake)        # the cached superset serves auto
    assert len(fake.calls) == 1 and plain.measured == 0
    assert "bf16" not in plain.per_layer and all("bf16" not in c.ms_per_image for c in plain.layers)
    int8_here = precision.int8_supported()
    assert plain.per_layer == ["fp32", "fp32"] + ["int8" if int8_here else "fp32"] * 2
    assert plain.to_json()["setting"] == "auto" and wide.to_json()["setting"] == "auto_bf16"


def test_the_machine_key_names_cpu_flags_torch_and_threads():
    key = probe.machine_key("cpu")
    assert f"torch {torch.__version__}" in key and f"{torch.get_num_threads()} threads" in key


def test_the_real_probe_times_every_candidate_of_a_small_network(cache):
    choice = probe.choose(parse_network("S-8 N-32 P-32(2) N-16(2)", (3, 8, 8), 10), 8, "cpu")
    assert choice.measured == 3 and all(c.arithmetic in c.ms_per_image for c in choice.layers)
    assert all(t > 0 for c in choice.layers for t in c.ms_per_image.values())
    assert cache.is_file() and choice.log_lines()[0].startswith("precision auto (")


@NEEDS_INT8
def test_int8_sums_equal_fp32_bit_for_bit_on_every_n_and_p_shape():
    from tnpipe.nn.layers import TrinaryConv

    gen = torch.Generator().manual_seed(8)
    done = 0
    for i, ls in enumerate(SHAPES):
        if ls.kind not in ("N", "P"):
            continue
        hw = min(ls.in_hw[0], 4) + (1 if ls.kind == "P" else 0)
        x = (torch.rand(2, ls.in_channels, hw, hw, generator=gen) < (0.1, 0.5, 0.95)[i % 3]).float()
        x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        conv = TrinaryConv(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding, ls.groups)
        conv.compute_dtype = torch.int8
        assert precision.matrix_layer(x, ls.kernel, ls.stride, ls.padding)
        ref = F.conv2d(x, conv.trinary, None, ls.stride, ls.padding, 1, ls.groups)
        out = conv(x)
        assert torch.equal(ref, out) and out.is_contiguous(memory_format=torch.channels_last), ls.token
        g = torch.randn(ref.shape, generator=gen)
        for a, b in zip(torch.autograd.grad(ref, x, g), torch.autograd.grad(out, x, g), strict=True):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-5), ls.token   # fp32 backward
        done += 1
    assert done == 18


@NEEDS_INT8
def test_int8_sums_at_the_extremes_and_real_values_are_not_exact():
    x = torch.ones(1, 128, 2, 2).contiguous(memory_format=torch.channels_last)
    for sign in (1.0, -1.0):
        s = precision.matmul_conv(x, torch.full((128, 128, 1, 1), sign), 1, product=lowfwd.int8_bmm)
        assert torch.equal(s, torch.full((1, 128, 2, 2), 128 * sign))
    # negative control: real-valued inputs truncate in int8, so the check above can fail
    xr = torch.rand(1, 16, 2, 2, generator=torch.Generator().manual_seed(9)).contiguous(
        memory_format=torch.channels_last)
    w = torch.ones(8, 16, 1, 1)
    assert not torch.equal(precision.matmul_conv(xr, w, 1, product=lowfwd.int8_bmm), F.conv2d(xr, w))


@NEEDS_INT8
def test_an_int8_training_step_has_the_fp32_spikes_and_gradients():
    a, b = _steps_with_equal_spikes("int8")
    assert b.arithmetics() == ["int8"] * 4
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), name


def test_a_mixed_auto_step_has_the_fp32_spikes(cache, monkeypatch):
    """Each arithmetic auto can put on a layer, mixed in one network, leaves the forward fp32's."""
    mixed = FakeProbe(lambda ls, a: {"P4": {"bf16_fwd": 0.1}, "N": {"int8": 0.1}, "P": {"bf16_fwd": 0.1}}
                      .get(ls.kind, {}).get(a, 1.0))
    choice = probe.choose(parse_network(NET, (3, 8, 8), 10), 16, "cpu", measure=mixed)
    monkeypatch.setattr(probe, "choose", lambda *a, **k: choice)
    a, b = _steps_with_equal_spikes("auto")
    assert b.arithmetics() == choice.per_layer and len(set(choice.per_layer)) >= 2
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):   # auto: fp32 backward
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), name


def test_bf16_fwd_has_the_fp32_forward_on_every_shape_and_the_fp32_backward():
    """bf16_fwd (tnpipe.nn.lowfwd): forward bit-equal to conv2d on all on-chip shapes (S layers
    through oneDNN's bf16 convolution, N/P through a bf16 product); gradients fp32's up to
    summation order. Negative control: "bf16", whose backward rounds dL/ds to bf16, misses the
    same gradient tolerance."""
    from tnpipe.nn.layers import TrinaryConv

    gen = torch.Generator().manual_seed(10)
    worst_bf16 = 0.0
    for i, ls in enumerate(SHAPES):
        hw = min(ls.in_hw[0], 4) + (1 if i % 2 else 0)
        x = (torch.rand(2, ls.in_channels, hw, hw, generator=gen) < (0.1, 0.5, 0.95)[i % 3]).float()
        x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        conv = TrinaryConv(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding, ls.groups)
        ref = F.conv2d(x, conv.trinary, None, ls.stride, ls.padding, 1, ls.groups)
        g = torch.randn(ref.shape, generator=gen)
        gref = torch.autograd.grad(ref, x, g)[0]
        for arithmetic in ("bf16_fwd", "bf16"):
            conv.set_arithmetic(arithmetic)
            out = conv(x)
            assert torch.equal(ref, out), (arithmetic, ls.token)
            err = float((torch.autograd.grad(out, x, g)[0] - gref).abs().max() / gref.abs().max())
            if arithmetic == "bf16_fwd":
                assert err < 1e-5, ls.token
            else:
                worst_bf16 = max(worst_bf16, err)
    assert worst_bf16 > 1e-5


def test_int8_is_refused_in_one_line_where_the_machine_lacks_it(monkeypatch):
    monkeypatch.setattr(precision, "int8_supported", lambda: False)
    net = build_network("S-8 P4-64(2) N-120(4)", (3, 16, 16), 10)
    with pytest.raises(TrainingError, match=r"^train.precision = 'int8': cpu has no int8 products here"):
        net.set_precision("int8", "cpu")
    assert probe.candidates(SPEC.chip_layers[-1], "cpu") == ["fp32", "bf16_fwd"]


def _trained(arithmetic, steps: int = 3):
    torch.manual_seed(0)
    net = build_network(NET, (3, 8, 8), 10, dropout=0.0)
    if isinstance(arithmetic, list):
        net.set_precision("auto", "cpu", probe.PrecisionChoice("test", 8, layers=[
            probe.LayerChoice(ls.token, "", {}, a) for ls, a in zip(SPEC.chip_layers, arithmetic, strict=True)]))
    else:
        net.set_precision(arithmetic, "cpu")
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(1)
    net.train()
    for _ in range(steps):
        x, y = torch.randn(8, 3, 8, 8, generator=gen), torch.randint(0, 10, (8,), generator=gen)
        loss = F.cross_entropy(net(x) * 0.05, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.update_trinary()
    return net.state_dict()


def test_auto_s_arithmetics_train_the_fp32_weights_bit_for_bit():
    """Every arithmetic `auto` can choose runs fp32's backward with the same operations as the
    fp32 path, so three Adam steps end with the fp32 run's weights, thresholds and statistics
    bit for bit: the probe's choice changes the speed, not the trained network. Negative
    control: "bf16" (rounded backward, not a candidate of auto) ends elsewhere."""
    ref = _trained("fp32")
    arms = ["bf16_fwd", ["bf16_fwd", "fp32", "bf16_fwd", "fp32"]]
    if precision.int8_supported():
        arms += ["int8", ["bf16_fwd", "bf16_fwd", "int8", "int8"]]
    for arm in arms:
        got = _trained(arm)
        assert all(torch.equal(ref[k], got[k]) for k in ref), (arm, [k for k in ref if not torch.equal(ref[k], got[k])])
    bf16 = _trained("bf16")
    assert [k for k in ref if k.endswith(".hidden") and not torch.equal(ref[k], bf16[k])]
