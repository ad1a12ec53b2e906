"""The neuron and core rules of the reference engine, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.chip.handmap import hand_map, neuron, scalar_neuron, set_bits
from tnpipe.chip.reference import ReferenceEngine


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny tensors on a shared machine: threads only contend
    yield
    torch.set_num_threads(n)


def run(cm, frames: list[list[int]]):
    """Feed frames[t] at tick t (one stream); return spikes (ticks, cores, neurons) and the result."""
    x = np.array(frames, dtype=np.uint8)
    res = ReferenceEngine(cm).run(x, streams=1, record=True)
    return res.recorded["spikes"][:, :, :, 0], res


def one_neuron_map(**kw):
    """Input k -> axon k (delay 1) of core 0, axon k has type k; neuron 0 reads axons 0..3."""
    cm = hand_map(1, 4, [(k, 0, k, 1) for k in range(4)])
    cm.arrays["axon_type"][0, :4] = [0, 1, 2, 3]
    set_bits(cm, 0, [(0, 0), (1, 0), (2, 0), (3, 0)])
    neuron(cm, 0, 0, **kw)
    return cm


def test_integrates_by_axon_type_weight():
    cm = one_neuron_map(weights=(3, -2, 5, 0), alpha=6, gamma=2)
    spikes, res = run(cm, [[1, 1, 1, 1], [0, 0, 0, 0]])
    # tick 1: V = 3 - 2 + 5 + 0 = 6 >= 6 -> spike; reset none keeps V = 6 -> spikes again at tick 2
    assert spikes[:, 0, 0].tolist() == [0, 1, 1]
    # synaptic events: 4 active axons AND 4 bits at tick 1 only, which holds frame 0 (the
    # core's frames arrive after 1 tick); frame 1 has none: 2 per frame
    assert res.sops_per_frame == 2.0


@pytest.mark.parametrize("gamma,R,expected", [
    (0, 0, [0, 1, 0, 0, 0]),      # normal reset to 0: V 7 -> 0
    (0, 2, [0, 1, 0, 0, 0]),      # normal reset to R = 2: 2 < 3
    (1, 0, [0, 1, 1, 0, 0]),      # linear: 7 -> 4 (spike) -> 1
    (2, 0, [0, 1, 1, 1, 1]),      # none: V stays 7
])
def test_reset_modes(gamma, R, expected):
    cm = one_neuron_map(weights=(7, 0, 0, 0), alpha=3, gamma=gamma, R=R)
    spikes, _ = run(cm, [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    assert spikes[:, 0, 0].tolist() == expected


def test_reset_value_is_used():
    # leak 1: from R = 2 the neuron reaches 3 after one tick; from R = 0 after three
    cm2 = one_neuron_map(weights=(7, 0, 0, 0), alpha=3, gamma=0, R=2, leak=1)
    cm0 = one_neuron_map(weights=(7, 0, 0, 0), alpha=3, gamma=0, R=0, leak=1)
    frames = [[1, 0, 0, 0]] + [[0, 0, 0, 0]] * 4
    assert run(cm2, frames)[0][:, 0, 0].tolist() == [0, 1, 1, 1, 1, 1]
    assert run(cm0, frames)[0][:, 0, 0].tolist() == [0, 1, 0, 0, 1, 0]   # V 1, 9* -> 0, 1, 2, 3* -> 0, 1


def test_positive_leak_fires_alone_and_negative_leak_needs_input():
    pos = one_neuron_map(leak=2, alpha=5)
    assert run(pos, [[0, 0, 0, 0]] * 5)[0][:, 0, 0].tolist() == [0, 0, 1, 0, 0, 1]   # V 2, 4, 6* -> 0, 2, 4, 6*
    neg = one_neuron_map(weights=(4, 0, 0, 0), leak=-1, alpha=3)
    assert run(neg, [[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])[0][:, 0, 0].tolist() == [0, 0, 1, 0]


def test_floor_saturates_at_minus_beta():
    # leak -2: tick 0 drives V to -2; with the floor at 0 it is lifted to 0 and input 4 at
    # tick 2 (after one more floored tick) reaches 0 + 4 - 2 = 2 >= 2; with beta = 10 V
    # keeps falling (-2, -4) and 4 - 2 never reaches 2
    frames = [[0, 0, 0, 0], [1, 0, 0, 0]]
    floor0 = one_neuron_map(weights=(4, 0, 0, 0), leak=-2, alpha=2, beta=0, kappa=1)
    deep = one_neuron_map(weights=(4, 0, 0, 0), leak=-2, alpha=2, beta=10, kappa=1)
    assert run(floor0, frames)[0][:, 0, 0].tolist() == [0, 0, 1]
    assert run(deep, frames)[0][:, 0, 0].tolist() == [0, 0, 0]


def test_bounce_negative_threshold():
    # alpha 1, leak -2, beta 1. Saturate: V -2 -> -1, then -1 + 4 - 2 = 1 -> spike.
    # Bounce with normal reset R = 3: V -2 -> -3, then -3 + 4 - 2 = -1 -> silent.
    frames = [[0, 0, 0, 0], [1, 0, 0, 0]]
    sat = one_neuron_map(weights=(4, 0, 0, 0), leak=-2, alpha=1, beta=1, kappa=1, R=3)
    bounce = one_neuron_map(weights=(4, 0, 0, 0), leak=-2, alpha=1, beta=1, kappa=0, gamma=0, R=3)
    assert run(sat, frames)[0][:, 0, 0].tolist() == [0, 0, 1]
    assert run(bounce, frames)[0][:, 0, 0].tolist() == [0, 0, 0]


def test_random_parameters_match_the_scalar_rules():
    """256 neurons with random parameters and inputs, every rule combination, 40 ticks."""
    rng = np.random.default_rng(7)
    cm = hand_map(1, 4, [(k, 0, k, 1) for k in range(4)])
    cm.arrays["axon_type"][0, :4] = [0, 1, 2, 3]
    params = []
    for j in range(256):
        w = rng.integers(-6, 7, size=4)
        p = dict(weights=tuple(int(v) for v in w), leak=int(rng.integers(-3, 4)), alpha=int(rng.integers(1, 8)),
                 gamma=int(rng.integers(0, 3)), R=int(rng.integers(-3, 4)), beta=int(rng.integers(0, 6)),
                 kappa=int(rng.integers(0, 2)))
        bits = rng.random(4) < 0.7
        set_bits(cm, 0, [(k, j) for k in range(4) if bits[k]])
        neuron(cm, 0, j, out=0, **p)
        params.append((p, bits))
    frames = (rng.random((40, 4)) < 0.5).astype(np.int64)
    spikes, _ = run(cm, frames.tolist())
    for j, (p, bits) in enumerate(params):
        syn = [0] + [int(sum(frames[t, k] * bits[k] * p["weights"][k] for k in range(4))) for t in range(40)]
        want = scalar_neuron(syn, list(p["weights"]), p["leak"], p["alpha"], p["gamma"], p["R"], p["beta"], p["kappa"])
        assert spikes[:len(want), 0, j].tolist() == want, f"neuron {j} {p}"


def test_delays_between_cores_and_from_inputs():
    # input -> core 0 axon 0 with delay 3; core 0 neuron 0 -> core 1 axon 5 with delay 5
    cm = hand_map(2, 1, [(0, 0, 0, 3)])
    set_bits(cm, 0, [(0, 0)])
    neuron(cm, 0, 0, weights=(1, 0, 0, 0), target=(1, 5, 5))
    set_bits(cm, 1, [(5, 0)])
    neuron(cm, 1, 0, weights=(1, 0, 0, 0))
    spikes, res = run(cm, [[1]] + [[0]] * 9)
    assert np.flatnonzero(spikes[:, 0, 0]).tolist() == [3]
    assert np.flatnonzero(spikes[:, 1, 0]).tolist() == [8]
    # the relayed spike travels 1 hop (cores side by side in x), in frame 0 of 10
    assert res.hops_per_frame * 10 == pytest.approx(1.0)


def test_two_spikes_onto_one_axon_in_one_tick_count_once():
    # inputs 0 and 1 both drive core 0 axon 0; weight 1, leak -1, threshold 1: the axon's
    # bit is set once (1 - 1 = 0, silent); a sum would give 2 - 1 = 1 and fire
    cm = hand_map(1, 2, [(0, 0, 0, 1), (1, 0, 0, 1)])
    set_bits(cm, 0, [(0, 0)])
    neuron(cm, 0, 0, weights=(1, 0, 0, 0), leak=-1, alpha=1)
    spikes, res = run(cm, [[1, 1], [1, 0], [0, 0]])
    assert spikes[:, 0, 0].tolist() == [0, 0, 0, 0]
    assert res.sops_per_frame * 3 == pytest.approx(2.0)   # one event per frame with input, not two


def test_only_ticks_that_hold_a_frame_are_counted():
    """A neuron with leak 1 fires every tick, warm-up and drain included; its core holds a
    frame at ticks 1..3 (3 frames, arrival 1): 3 spikes, 1 per frame. Its relay on core 1
    (arrival 1 + 4 = 5) fires from tick 5 on: ticks 5..7 are its 3 frames."""
    cm = hand_map(2, 1, [(0, 0, 0, 1)])
    neuron(cm, 0, 0, leak=1, target=(1, 0, 4))
    set_bits(cm, 1, [(0, 0)])
    neuron(cm, 1, 0, weights=(1, 0, 0, 0))
    cm.latency_ticks = 5
    spikes, res = run(cm, [[0], [0], [0]])
    assert spikes.shape[0] == 3 + 5 and spikes[:, 0, 0].all() and spikes[5:, 1, 0].all()
    assert res.recorded["arrival"].tolist() == [1, 5]
    assert res.spikes_per_frame == 2.0 and res.hops_per_frame == 1.0
    assert res.core_spikes_per_frame.tolist() == [1.0, 1.0]
    assert res.sops_per_frame == 1.0 and res.output_packets_per_frame == 1.0


def test_potential_is_clamped_to_20_bits():
    cm = one_neuron_map(weights=(255, 0, 0, 0), leak=255, alpha=2 ** 19 - 1, gamma=2)
    frames = [[1, 0, 0, 0]] * 1100   # V grows by 510 a tick: reaches the 20-bit ceiling
    spikes, _ = run(cm, frames)
    first = int(np.flatnonzero(spikes[:, 0, 0])[0])
    assert first == 1028   # ceil((2^19 - 1) / 510) = 1029 ticks of growth, counted from tick 0
    assert spikes[first:, 0, 0].all()   # clamped at the ceiling, it stays there and fires
