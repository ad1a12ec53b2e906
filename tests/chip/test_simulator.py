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
from tnpipe.chip.engines import simulate
from tnpipe.chip.fastpath import KERNELS, FastEngine
from tnpipe.chip.mapper import map_network
from tnpipe.chip.popcount import AVAILABLE as POPCOUNT_AVAILABLE
from tnpipe.chip.popcount import PopcountEngine
from tnpipe.chip.reference import ReferenceEngine
from tnpipe.chip.validate import validate_coremap
from tnpipe.corespec import CoreSpec

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


COUNTERS = ("sops_per_frame", "spikes_per_frame", "hops_per_frame", "crossings_per_frame",
            "input_packets_per_frame", "output_packets_per_frame", "busiest_core_sops")


def engine_results(cm, x, device="cpu"):
    """Every engine's SimResult on the same map and frames (popcount where numba is)."""
    prog = compile_program(cm)
    out = {"reference": ReferenceEngine(cm, device).run(x, streams=3)}
    for kernel in KERNELS:
        out[kernel] = FastEngine(prog, kernel, device).run(x, batch=16)
    if device == "cpu" and POPCOUNT_AVAILABLE:
        out["popcount"] = PopcountEngine(prog).run(x, batch=64)
    return out


def assert_same_counters(results):
    ref = results["reference"]
    for name, res in results.items():
        assert (res.votes == ref.votes).all(), name
        for c in COUNTERS:
            assert getattr(res, c) == pytest.approx(getattr(ref, c), rel=1e-12, abs=1e-12), f"{name} {c}"
        assert np.allclose(res.core_spikes_per_frame, ref.core_spikes_per_frame, rtol=1e-12), name


@pytest.mark.parametrize("net", [NET, SPLIT])
def test_every_engine_gives_the_same_counters_per_frame(net):
    """Per-frame synaptic events, spikes, hops, crossings, I/O packets, per-core spikes and
    the busiest core, equal in every engine. Leaks up to +4 make some neurons fire with no
    input (in warm-up and drain ticks too, which the tick engine must not count); small
    chips (4x4 cores) make the map span chips, so crossings are counted; 11 frames over 3
    streams leave one padding frame."""
    spec = CoreSpec(chip_width=4, chip_height=4)
    desc = random_description(*net, seed=2)
    cm = map_network(desc, spec)
    validate_coremap(cm)
    assert cm.chips > 1
    x = random_spikes(desc, 11, seed=9).reshape(11, -1)
    results = engine_results(cm, x)
    ref = results["reference"]
    assert ref.spikes_per_frame > 0 and ref.crossings_per_frame > 0 and ref.input_packets_per_frame > 0
    assert_same_counters(results)
    # the counts are exact integers per frame: totals over the 11 frames are whole numbers
    assert ref.sops_per_frame * 11 == pytest.approx(round(ref.sops_per_frame * 11), abs=1e-9)


def test_reference_counts_each_frame_alone():
    """Each frame's own activity: the mean over frames run together equals the mean of the
    counts of each frame run alone on a fresh chip."""
    desc = random_description(*SPLIT, seed=6)
    cm = map_network(desc)
    x = random_spikes(desc, 4, seed=1).reshape(4, -1)
    together = ReferenceEngine(cm).run(x, streams=1)
    alone = [ReferenceEngine(cm).run(x[i:i + 1]) for i in range(4)]
    for c in COUNTERS[:-1]:
        assert getattr(together, c) == pytest.approx(np.mean([getattr(r, c) for r in alone]), rel=1e-12), c


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
    assert res.engine == "reference" and "cycle" in res.fallback


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
    cm = map_network(desc, CoreSpec(chip_width=4, chip_height=4))
    x = random_spikes(desc, 16).reshape(16, -1)
    cpu, gpu = engine_results(cm, x), engine_results(cm, x, "cuda")
    assert_same_counters({**cpu, **{f"cuda-{k}": v for k, v in gpu.items()}})


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
