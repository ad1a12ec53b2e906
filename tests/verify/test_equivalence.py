"""The graph side of the equivalence check, at the function level: the numpy graph, the
tick placement, the comparison, and each single corruption of issue 10 caught by it."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from tests.chip.netref import forward as netref_forward
from tests.chip.netref import random_description, random_spikes
from tests.verify.corrupt import CORRUPTIONS, effective
from tnpipe.chip.engines import simulate
from tnpipe.chip.mapper import map_network
from tnpipe.chip.reference import arrival_ticks, spike_trace
from tnpipe.chip.validate import validate_coremap
from tnpipe.nn.hardware import hardware_votes
from tnpipe.verify.equivalence import check_equivalence, core_arrival
from tnpipe.verify.graph import ValueMap, forward

SPLIT = ("S-8 N-28 S-28(2) N-10", (3, 6, 6), 5)          # has splitter cores
NET = ("S-8 P4-32(2) N-32(2) P-32(4) N-20(2)", (3, 8, 8), 10)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def chip_run(cm, desc, x):
    """What deploy hands the check: the transduced frames, the chip's votes (the fastest
    exact engine), the training graph's hardware-mode votes, and the chip's trace."""
    flat = x.reshape(len(x), -1)
    return dict(spikes=x, chip_votes=simulate(cm, flat).votes, graph_votes=hardware_votes(desc, x),
                trace=lambda frames: spike_trace(cm, frames))


@pytest.mark.parametrize("net", [SPLIT, NET])
def test_numpy_graph_equals_the_test_oracle_and_the_training_graph(net):
    desc = random_description(*net, seed=4)
    x = random_spikes(desc, 9, seed=2)
    maps = forward(desc, x)
    for mine, theirs in zip(maps, netref_forward(desc, x), strict=True):
        assert mine.dtype == np.uint8 and (mine == theirs).all()
    assert 0.05 < maps[-1].mean() < 0.95
    assert (desc.votes(maps[-1]) == hardware_votes(desc, x)).all()


def test_value_map_enumerates_as_the_mapper_records():
    desc = random_description(*NET, seed=1)
    cm = map_network(desc)
    vm = ValueMap.of(desc)
    assert [[n, list(s), o] for n, s, o in vm.maps] == [[m["name"], m["shape"], m["offset"]]
                                                        for m in cm.info["source_maps"]]
    last_name, (c, h, w), off = vm.maps[-1]
    assert vm.size == off + c * h * w
    assert vm.describe(off + 2 * h * w + w + 1) == (last_name, 2, (1, 1))
    assert vm.describe(0) == ("input", 0, (0, 0))
    with pytest.raises(IndexError, match="outside the network's"):
        vm.describe(vm.size)


@pytest.mark.parametrize("net", [SPLIT, NET])
def test_core_arrival_is_the_mappers_timing(net):
    cm = map_network(random_description(*net, seed=3))
    arr = core_arrival(cm)
    ticks = cm.info["arrival_ticks"]
    for li, name in enumerate(cm.layer_names):
        cores = cm.arrays["core_layer"] == li
        want = ticks[name] if name in ticks else ticks[name.removesuffix(" splitters")] + 1
        assert (arr[cores] == want).all(), name
    assert (arr == arrival_ticks(cm)).all()        # the simulator's own computation agrees


@pytest.mark.parametrize("net", [SPLIT, NET])
def test_the_chip_is_exact_and_every_used_neuron_tick_is_compared(net):
    desc = random_description(*net, seed=5)
    cm = map_network(desc)
    x = random_spikes(desc, 40, seed=3)
    run = chip_run(cm, desc, x)
    eq = check_equivalence(cm, desc, **run, spike_frames=32)
    assert eq.first_mismatch is None and eq.exact and eq.votes_exact and eq.spikes_exact
    assert (eq.vote_frames, eq.spike_frames, eq.agreement) == (40, 32, 1.0)
    used = int(cm.used().sum())
    assert eq.neuron_ticks_compared == 32 * used
    # the chip's spikes compared = every spike of every used neuron in its frames' ticks
    trace, per = spike_trace(cm, x[:32].reshape(32, -1), streams=1)
    arr = arrival_ticks(cm)
    fired = sum(int(trace[arr[c]:arr[c] + 32, c].sum()) for c in range(cm.n_cores))
    assert eq.spikes_compared == fired > 0
    every = check_equivalence(cm, desc, **run, spike_frames=None)    # --spike-frames all, 64 per trace
    assert every.exact and every.spike_frames == 40 and every.neuron_ticks_compared == 40 * used


def test_chunks_of_the_sample_give_the_same_comparison(monkeypatch):
    """A big map compares a few frames per chip trace (CELLS); the counts and the first
    mismatch (frame numbers across chunks) do not depend on the chunk size."""
    import tnpipe.verify.equivalence as equivalence

    desc = random_description(*SPLIT, seed=5)
    cm = map_network(desc)
    x = random_spikes(desc, 12, seed=3)
    flat = ValueMap.of(desc).flat(forward(desc, x))
    # a neuron that fires in frames 0..4 and is silent later: always firing, it first
    # differs in the second chunk of 5
    src = cm.arrays["neuron_source"]
    c, j = next((c, j) for c, j in np.argwhere(cm.used()) if flat[:5, src[c, j]].all() and not flat[:, src[c, j]].all())
    cm.arrays["leak"][c, j] += 60
    run = chip_run(cm, desc, x)
    whole = check_equivalence(cm, desc, **run, spike_frames=12)
    monkeypatch.setattr(equivalence, "CELLS", 5 * int(cm.used().sum()))       # 5 frames per trace
    parts = check_equivalence(cm, desc, **run, spike_frames=12)
    assert parts == whole and not whole.exact and whole.neuron_ticks_compared == 12 * int(cm.used().sum())
    assert int(whole.first_mismatch.split(",")[0].removeprefix("frame ")) >= 5


def test_first_mismatch_names_the_corrupted_neuron_at_its_first_tick():
    desc = random_description(*NET, seed=5)
    cm = map_network(desc)
    x = random_spikes(desc, 8, seed=3)
    arr = core_arrival(cm)
    c = int(np.flatnonzero(cm.arrays["core_layer"] == 1)[0])              # a layer-2 core
    j = 0
    cm.arrays["leak"][c, j] += 60                                          # now it always fires
    eq = check_equivalence(cm, desc, **chip_run(cm, desc, x), spike_frames=8)
    assert not eq.exact and not eq.spikes_exact
    src = int(cm.arrays["neuron_source"][c, j])
    layer, feature, (y, xx) = ValueMap.of(desc).describe(src)
    frame = int(np.flatnonzero(forward(desc, x)[2].reshape(8, -1)[:, src - ValueMap.of(desc).maps[2][2]] == 0)[0])
    assert eq.first_mismatch == (f"frame {frame}, tick {arr[c]}, core {c}, neuron {j}, layer {layer}, "
                                 f"feature {feature}, position ({y}, {xx}), chip 1, graph 0")


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_single_corruption_is_caught(name):
    """Each corruption of issue 10 passes the validator yet makes the check fail."""
    desc = random_description(*SPLIT, seed=7)
    cm = map_network(desc)
    x = random_spikes(desc, 24, seed=8)
    bad, what, skipped = effective(cm, name, x.reshape(24, -1))
    validate_coremap(bad)
    eq = check_equivalence(bad, desc, **chip_run(bad, desc, x), spike_frames=24)
    assert not eq.exact, what
    assert eq.first_mismatch and eq.first_mismatch.startswith("frame "), eq.first_mismatch
    if name == "output_reclassed":    # no spike changes, only the wire's class: the votes level
        assert eq.spikes_exact and not eq.votes_exact and "votes for class" in eq.first_mismatch
    else:
        assert not eq.spikes_exact, what


def test_the_check_imports_nothing_of_the_simulator_or_of_training():
    """Independence: the graph side reads the exported integers and the map's arrays only."""
    allowed = {"numpy", "tnpipe.artifacts", "tnpipe.chip.coremap", "tnpipe.verify.graph",
               "__future__", "collections.abc", "dataclasses"}
    for path in Path("tnpipe/verify").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
            else:
                continue
            assert set(names) <= allowed, f"{path}: imports {names}"
