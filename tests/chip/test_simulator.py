"""Each fast execution path gives exactly the reference engine's spikes and counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.chip.handmap import hand_map, neuron, set_bits
from tests.chip.netref import (
    assert_signals_equal_reference,
    forward,
    random_description,
    random_spikes,
)
from tnpipe.chip.compile import UnsupportedMap, compile_program
from tnpipe.chip.fastpath import KERNELS, FastEngine
from tnpipe.chip.mapper import map_network
from tnpipe.chip.simulate import simulate
from tnpipe.chip.simulator import ReferenceEngine
from tnpipe.chip.spec import CoreSpec
from tnpipe.chip.validate import validate_coremap

NET = ("S-8 P4-64(2) N-64(2) P-64(4) S-128(8) N-40(2)", (3, 16, 16), 10)
SPLIT = ("S-8 N-28 S-28(2) N-10", (3, 6, 6), 5)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("net", [NET, SPLIT])
def test_fast_path_spikes_equal_reference_engine(kernel, net):
    desc = random_description(*net, seed=11)
    cm = map_network(desc)
    x = random_spikes(desc, 10, seed=5)
    ref = ReferenceEngine(cm).run(x.reshape(10, -1), streams=2, record=True)
    prog = compile_program(cm)
    fast = FastEngine(prog, kernel).run(x.reshape(10, -1), batch=8, keep_signals=True)
    assert_signals_equal_reference(cm, prog, ref, fast.recorded["signals"], 10)
    assert (fast.votes == ref.votes).all()
    assert (fast.votes == desc.votes(forward(desc, x)[-1])).all()


@pytest.mark.parametrize("kernel", KERNELS)
def test_fast_path_counts_equal_reference_counts(kernel):
    """With leaks <= 0 a silent chip stays silent, so one frame alone in the tick engine
    is all the activity there is: totals over its ticks equal the fast path's per frame.
    Small chips (4x4 cores) make the map span chips, so crossings are counted too."""
    spec = CoreSpec(chip_width=4, chip_height=4)
    desc = random_description(*NET, seed=2, leak_range=(-4, 0))
    cm = map_network(desc, spec)
    validate_coremap(cm)
    assert cm.chips > 1
    x = random_spikes(desc, 1, seed=9)
    ref = ReferenceEngine(cm).run(x.reshape(1, -1), streams=1)
    ticks = 1 + cm.latency_ticks + 1
    fast = FastEngine(compile_program(cm), kernel).run(x.reshape(1, -1))
    assert fast.spikes_per_frame > 0 and fast.crossings_per_frame > 0
    for name in ("sops_per_frame", "spikes_per_frame", "hops_per_frame", "crossings_per_frame"):
        assert getattr(fast, name) == pytest.approx(getattr(ref, name) * ticks), name
    assert np.allclose(fast.core_spikes_per_frame, ref.core_spikes_per_frame * ticks)
    assert (fast.votes == ref.votes).all()


def _recurrent_map():
    cm = hand_map(1, 1, [(0, 0, 0, 1)])
    set_bits(cm, 0, [(0, 0), (1, 0)])
    neuron(cm, 0, 0, weights=(1, 0, 0, 0), target=(0, 1, 1))    # feeds itself: a cycle
    neuron(cm, 0, 1, weights=(1, 0, 0, 0))
    set_bits(cm, 0, [(0, 1)])
    return cm


def test_recurrent_map_falls_back_to_the_reference_engine():
    cm = _recurrent_map()
    with pytest.raises(UnsupportedMap, match="cycle"):
        compile_program(cm)
    res = simulate(cm, np.array([[1], [0]], dtype=np.uint8), engine="auto")
    assert res.engine == "reference" and "cycle" in res.recorded["fallback"]


def test_stateful_neurons_are_refused_by_the_compiler():
    cm = hand_map(1, 1, [(0, 0, 0, 1)])
    set_bits(cm, 0, [(0, 0)])
    neuron(cm, 0, 0, weights=(1, 0, 0, 0), alpha=2)
    with pytest.raises(UnsupportedMap, match="keeps state"):
        compile_program(cm)


def test_folding_removes_pairs_and_copies():
    desc = random_description(*NET, seed=1)
    prog = compile_program(map_network(desc))
    # every computed neuron is one network value: copies and splitter relays cost nothing
    values = sum(int(np.prod((layer.out_channels, *layer.out_hw))) for layer in desc.layers)
    assert prog.stats["computed_neurons"] == values
    assert prog.stats["used_neurons"] > 2 * values * 0.9


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_gpu_fast_path_equals_cpu():  # pragma: no cover - runs only where a GPU exists
    desc = random_description(*NET, seed=3)
    cm = map_network(desc)
    x = random_spikes(desc, 16).reshape(16, -1)
    prog = compile_program(cm)
    for kernel in KERNELS:
        assert (FastEngine(prog, kernel, "cuda").run(x).votes == FastEngine(prog, kernel).run(x).votes).all()


def test_worker_threads_give_the_same_votes_and_counts():
    desc = random_description(*NET, seed=4)
    prog = compile_program(map_network(desc))
    x = random_spikes(desc, 45, seed=6).reshape(45, -1)
    one = FastEngine(prog, "lut").run(x, batch=16, keep_signals=True)
    two = FastEngine(prog, "lut").run(x, batch=16, keep_signals=True, workers=2)
    assert (one.votes == two.votes).all()
    assert (one.recorded["signals"] == two.recorded["signals"]).all()
    for name in ("sops_per_frame", "spikes_per_frame", "hops_per_frame"):
        assert getattr(one, name) == pytest.approx(getattr(two, name))
    assert torch.get_num_threads() == 1        # restored (the fixture set 1)


@pytest.mark.parametrize("engine", ["lut", "gemm", "popcount", "reference"])
def test_layer_of_constant_neurons_feeding_a_core(engine):
    """A trained tiny net can end up with a layer whose trinary weights are all 0, so each
    neuron always fires (leak >= 1) or never fires; the next cores then read only constant
    signals (no input rows at all after folding). Regression: the compiler took argmax over
    an empty row (seen on vad-synthetic and timit_frames-synthetic `tiny`)."""
    desc = random_description("S-8 N-16(2) N-20(2)", (3, 6, 6), num_classes=10, seed=3)
    first = desc.layers[0]
    first.weights[:] = 0
    first.leak[:] = np.where(np.arange(first.out_channels) % 2 == 0, 1, 0)
    cm = map_network(desc)
    x = random_spikes(desc, 12, seed=4)
    got = simulate(cm, x.reshape(12, -1), engine=engine).votes
    assert (got == desc.votes(forward(desc, x)[-1])).all()
