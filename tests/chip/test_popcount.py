"""The popcount engine gives exactly the reference engine's spikes and counts."""

from __future__ import annotations

import numpy as np
import pytest

from tests.chip.netref import (
    assert_signals_equal_reference,
    forward,
    random_description,
    random_spikes,
)
from tnpipe.chip import popcount
from tnpipe.chip.compile import UnsupportedMap, compile_program
from tnpipe.chip.engines import simulate
from tnpipe.chip.fastpath import FastEngine
from tnpipe.chip.mapper import map_network
from tnpipe.chip.reference import ReferenceEngine

needs_numba = pytest.mark.skipif(not popcount.AVAILABLE, reason="numba is not installed")

NET = ("S-8 P4-64(2) N-64(2) P-64(4) S-128(8) N-40(2)", (3, 16, 16), 10)
SPLIT = ("S-8 N-28 S-28(2) N-10", (3, 6, 6), 5)


@needs_numba
def test_transpose64_turns_a_bit_matrix():
    rng = np.random.default_rng(0)
    bits = (rng.random((64, 64)) < 0.5).astype(np.uint8)                 # bits[r, c]
    a = np.packbits(bits, axis=1, bitorder="little").view(np.uint64)[:, 0].copy()
    popcount._transpose64(a)
    got = np.unpackbits(a.view(np.uint8).reshape(64, 8), axis=1, bitorder="little")
    assert (got == bits.T).all()


@needs_numba
@pytest.mark.parametrize("net", [NET, SPLIT])
def test_popcount_spikes_equal_reference_engine(net):
    """Every used neuron's spike in every frame, and the votes; 70 frames: two rows of
    64-frame words, the second one partly padding."""
    desc = random_description(*net, seed=11)
    cm = map_network(desc)
    x = random_spikes(desc, 70, seed=5).reshape(70, -1)
    ref = ReferenceEngine(cm).run(x, streams=7, record=True)
    prog = compile_program(cm)
    fast = popcount.PopcountEngine(prog).run(x, batch=128, keep_signals=True)
    assert fast.recorded["signals"].shape == (70, prog.n_signals)
    assert_signals_equal_reference(cm, prog, ref, fast.recorded["signals"], 70)
    assert (fast.votes == ref.votes).all()
    assert (fast.votes == desc.votes(forward(desc, x.reshape(70, *desc.input_shape))[-1])).all()


@needs_numba
def test_popcount_equals_lut_on_signals_and_counters_across_batches_and_threads():
    desc = random_description(*NET, seed=4)
    prog = compile_program(map_network(desc))
    x = random_spikes(desc, 150, seed=6).reshape(150, -1)
    lut = FastEngine(prog, "lut").run(x, batch=64, keep_signals=True)
    for batch, workers in ((64, 1), (256, 2)):
        pc = popcount.PopcountEngine(prog).run(x, batch=batch, keep_signals=True, workers=workers)
        assert (pc.votes == lut.votes).all()
        assert (pc.recorded["signals"] == lut.recorded["signals"]).all()
        for name in ("sops_per_frame", "spikes_per_frame", "hops_per_frame", "crossings_per_frame",
                     "busiest_core_sops"):
            assert getattr(pc, name) == pytest.approx(getattr(lut, name), rel=1e-12), name
        assert np.allclose(pc.core_spikes_per_frame, lut.core_spikes_per_frame, rtol=1e-12)
        assert pc.recorded["input_packets_per_frame"] == lut.recorded["input_packets_per_frame"]


@needs_numba
def test_wide_integer_weights_use_bit_planes():
    """Folded weights beyond {-1, 0, 1} and more than 128 inputs (the general kernel):
    the same spikes as the lut engine, which sums the weights as numbers."""
    desc = random_description(*NET, seed=8)
    prog = compile_program(map_network(desc))
    rng = np.random.default_rng(3)
    for cl in prog.classes:
        cl.weight = rng.integers(-9, 10, size=cl.weight.shape).astype(np.float32)
        cl.thr = rng.integers(-4, 6, size=cl.thr.shape).astype(np.float32)
    wide = prog.classes[0]     # 150 inputs: three words; extra reads of existing signals
    extra = rng.choice(wide.in_ids.reshape(-1), size=(wide.in_ids.shape[0], 150 - wide.in_ids.shape[1]))
    wide.in_ids = np.concatenate([wide.in_ids, extra], 1)
    wide.weight = rng.integers(-3, 4, size=(150, wide.weight.shape[1])).astype(np.float32)
    x = random_spikes(desc, 64, seed=1).reshape(64, -1)
    lut = FastEngine(prog, "lut").run(x, batch=64, keep_signals=True)
    pc = popcount.PopcountEngine(prog).run(x, keep_signals=True)
    assert (pc.recorded["signals"] == lut.recorded["signals"]).all()
    assert (pc.votes == lut.votes).all()


@needs_numba
def test_simulate_dispatches_the_popcount_engine():
    desc = random_description(*SPLIT, seed=3)
    cm = map_network(desc)
    x = random_spikes(desc, 5, seed=2).reshape(5, -1)
    res = simulate(cm, x, engine="popcount")
    assert res.engine == "fast-popcount"
    assert simulate(cm, x, engine="auto").engine == "fast-popcount"      # the fastest exact engine
    assert (res.votes == desc.votes(forward(desc, x.reshape(5, *desc.input_shape))[-1])).all()


def test_without_numba_the_engine_refuses_and_auto_uses_lut(monkeypatch):
    desc = random_description(*SPLIT, seed=3)
    cm = map_network(desc)
    x = random_spikes(desc, 5, seed=2).reshape(5, -1)
    monkeypatch.setattr(popcount, "AVAILABLE", False)
    with pytest.raises(UnsupportedMap, match="needs numba"):
        popcount.PopcountEngine(compile_program(cm))
    res = simulate(cm, x, engine="auto")
    assert res.engine == "fast-lut"
    assert (res.votes == desc.votes(forward(desc, x.reshape(5, *desc.input_shape))[-1])).all()


@needs_numba
@pytest.mark.parametrize("kernel", ["_run_kernel", "_pack_kernel", "_count_kernel", "_transpose64"])
def test_kernels_are_cached_on_disk(kernel):
    """A new process loads the compiled kernels instead of compiling them again (measured:
    28 s of compile in a fresh cache, 0.8 s to load; benchmarks/simulate.py prints it)."""
    cache = getattr(popcount, kernel)._cache
    assert type(cache).__name__ == "FunctionCache"          # numba's NullCache without cache=True
    assert cache._cache_path                                # a folder on disk
