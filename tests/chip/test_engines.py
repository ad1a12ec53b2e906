"""The engine registry: every engine behind one interface and one typed result, chosen by name."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.chip.netref import forward, random_description, random_spikes
from tnpipe.chip import engines
from tnpipe.chip.config import ChipCfg
from tnpipe.chip.engine import EngineSettings, SimResult
from tnpipe.chip.engines import simulate
from tnpipe.chip.mapper import map_network
from tnpipe.chip.popcount import AVAILABLE as POPCOUNT_AVAILABLE
from tnpipe.chip.reference import ReferenceEngine
from tnpipe.cli import app
from tnpipe.errors import RecipeError

SPLIT = ("S-8 N-28 S-28(2) N-10", (3, 6, 6), 5)
KNOWN = "known engines: auto, reference, lut, gemm, popcount"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", list(engines.ENGINES))
def test_every_registered_engine_gives_the_same_typed_result(name):
    if name == "popcount" and not POPCOUNT_AVAILABLE:
        pytest.skip("numba not installed")
    desc = random_description(*SPLIT, seed=3)
    cm = map_network(desc)
    xs = random_spikes(desc, 9, seed=2)
    x = xs.reshape(9, -1)
    ref = ReferenceEngine(cm).run(x, streams=3)
    res = simulate(cm, x, engine=name)
    assert isinstance(res, SimResult) and res.fallback is None
    assert (res.votes == ref.votes).all() and (res.votes == desc.votes(forward(desc, xs)[-1])).all()
    def totals(r: SimResult) -> list[int]:   # means over 9 frames of integer counts
        return [round(9 * v) for v in (r.sops_per_frame, r.spikes_per_frame, r.hops_per_frame, r.busiest_core_sops)]

    assert totals(res) == totals(ref)
    t = res.timings                                   # a field of the result, not pushed into `recorded`
    assert t.compile_seconds >= 0 and t.kernel_seconds >= 0 and t.run_seconds > 0
    assert not {"compile_seconds", "kernel_seconds", "run_seconds", "fallback"} & set(res.recorded)


def test_an_unknown_engine_is_one_line_naming_the_known_ones():
    with pytest.raises(RecipeError) as e:
        simulate(map_network(random_description(*SPLIT, seed=3)), np.zeros((1, 1), np.uint8), engine="warp")
    assert str(e.value) == f"engine 'warp' is not known; {KNOWN}"
    with pytest.raises(RecipeError, match=KNOWN):
        ChipCfg(engine="warp")
    res = CliRunner().invoke(app, ["deploy", "--plan-only", "recipes/fsdd.toml", "--network", "tiny",
                                   "--set", "chip.engine=warp"])
    assert res.exit_code == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "'warp' is not known" in res.stderr and KNOWN in res.stderr


class CountingEngine:
    """A test engine: the reference one under another name."""

    def __init__(self, cm, device):
        self.inner = ReferenceEngine(cm, device, streams=2)

    def warm_up(self) -> float:
        return 0.0

    def run(self, inputs: np.ndarray) -> SimResult:
        res = self.inner.run(inputs)
        res.engine = "counting"
        return res


def make(cm, device: str, settings: EngineSettings) -> CountingEngine:
    return CountingEngine(cm, device)


def test_a_new_engine_is_one_module_and_one_registry_line(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "counting", "tests.chip.test_engines:make")   # the one line
    assert ChipCfg(engine="counting").engine == "counting"
    desc = random_description(*SPLIT, seed=4)
    xs = random_spikes(desc, 4, seed=1)
    x = xs.reshape(4, -1)
    res = simulate(map_network(desc), x, engine="counting")
    assert res.engine == "counting"
    assert (res.votes == desc.votes(forward(desc, xs)[-1])).all()
