"""Deploy proves the chip equal to the trained network from the core map on disk (issue 10):
on one really trained tiny synthetic run (built once for the module), the exact case, the
three levels in result.json and the CLI, and the negative controls: each single corruption
of the issue, applied to a saved map (sha256 rewritten so the loader accepts it), makes
`deploy --coremap` report not exact and exit 3 naming the first mismatch."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.verify.corrupt import CORRUPTIONS, effective
from tnpipe.chip.coremap import CoreMap
from tnpipe.cli import app

runner = CliRunner()
EQUIVALENCE_KEYS = ["exact", "votes_exact", "vote_frames", "spikes_exact", "spike_frames", "spikes_compared",
                    "neuron_ticks_compared", "agreement", "first_mismatch"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny cifar10 synthetic run, trained for one epoch, deployed once (40 test frames)."""
    root = tmp_path_factory.mktemp("equivalence")
    with pytest.MonkeyPatch.context() as mp:
        for k in ("raw", "prepared", "results"):
            (root / k).mkdir()
            mp.setenv(f"TNPIPE_{k.upper()}_ROOT", str(root / k))
        res = runner.invoke(app, ["run", "cifar10", "--synthetic", "--network", "tiny", "--set", "train.epochs=1",
                                  "--set", "data.synthetic_train_per_class=16",
                                  "--set", "data.synthetic_test_per_class=4"])
        assert res.exit_code == 0, res.output
        yield root / "results" / "cifar10-synthetic" / "tiny"


def _result(run_dir):
    return json.loads((run_dir / "result.json").read_text())


def test_deploy_is_exact_on_the_map_read_back_from_disk(trained):
    res = _result(trained)
    eq = res["equivalence"]
    assert list(eq) == EQUIVALENCE_KEYS
    assert eq["exact"] and eq["votes_exact"] and eq["spikes_exact"] and eq["first_mismatch"] is None
    assert (eq["vote_frames"], eq["spike_frames"]) == (40, 32) and eq["agreement"] == res["agreement"] == 1.0
    cm = CoreMap.load(trained)
    assert eq["neuron_ticks_compared"] == 32 * int(cm.used().sum())
    assert 0 < eq["spikes_compared"] < eq["neuron_ticks_compared"]
    header = json.loads((trained / "coremap.json").read_text())
    assert res["coremap"] == {"folder": str(trained), "npz_sha256": header["npz_sha256"]}
    sim = res["simulator"]
    assert sim["frames_per_s"] == pytest.approx(40 / sim["run_seconds"])
    assert sim["kernel_seconds"] >= 0 and sim["compile_seconds"] >= 0


def test_deploy_simulates_only_the_map_it_loaded(trained, monkeypatch):
    import tnpipe.chip.engines as simulate_mod

    loaded, simulated = [], []
    real_load, real_sim = CoreMap.load.__func__, simulate_mod.simulate
    monkeypatch.setattr(CoreMap, "load", classmethod(lambda cls, folder, *a: loaded.append(real_load(cls, folder, *a))
                                                     or loaded[-1]))
    monkeypatch.setattr(simulate_mod, "simulate", lambda cm, *a, **k: simulated.append(cm) or real_sim(cm, *a, **k))
    res = runner.invoke(app, ["deploy", str(trained), "--force", "--frames", "8"])
    assert res.exit_code == 0, res.output
    assert len(simulated) == 1 and any(simulated[0] is m for m in loaded)


def test_cli_shows_the_three_levels_and_spike_frames_all(trained):
    res = runner.invoke(app, ["deploy", str(trained), "--force", "--spike-frames", "all"])
    assert res.exit_code == 0, res.output
    eq = _result(trained)["equivalence"]
    assert eq["spike_frames"] == 40
    line = " ".join(res.output.split())
    assert (f"chip == trained network: exact; votes exact on 40 frames; spikes exact on 40 frames "
            f"({eq['spikes_compared']:,} spikes, {eq['neuron_ticks_compared']:,} neuron-ticks compared); "
            "arg-max agreement 100.00%") in line


@pytest.mark.parametrize("value", ["0", "x", "-3"])
def test_bad_spike_frames_is_one_line(trained, value):
    res = runner.invoke(app, ["deploy", str(trained), "--force", "--spike-frames", value])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"--spike-frames {value!r}: expected a whole number >= 1 or 'all'" in " ".join(res.output.split())


def _saved_copy(trained, tmp_path):
    folder = tmp_path / "map"
    folder.mkdir()
    for name in ("coremap.npz", "coremap.json"):
        shutil.copy(trained / name, folder / name)
    return folder


def test_a_tampered_map_is_refused_before_it_runs(trained, tmp_path):
    folder = _saved_copy(trained, tmp_path)
    with open(folder / "coremap.npz", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01")
    res = runner.invoke(app, ["deploy", str(trained), "--coremap", str(folder)])
    assert res.exit_code == 1 and "sha256" in res.output and "Traceback" not in res.output


def test_a_folder_without_a_core_map_is_one_line(trained, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    res = runner.invoke(app, ["deploy", str(trained), "--coremap", str(folder)])
    assert res.exit_code == 1
    assert res.stderr == (f"error: --coremap {folder}: no coremap.npz or coremap.json there; expected a folder "
                          "that `tnpipe deploy` wrote (a run folder) or a copy of its coremap.npz + coremap.json\n")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_corrupted_map_is_not_exact_and_exits_3(trained, tmp_path, name):
    """The corruption goes to the first candidate site that changes the chip's spikes or
    votes on the spike sample; sites skipped because they could change no spike (a synapse
    on an axon that never fires, a leak that moves no sum across the threshold) are counted
    in the assertion message."""
    from tnpipe.artifacts import PreparedDataset
    from tnpipe.nn.trained import load_trained

    net = load_trained(trained)
    x = net.transduce(PreparedDataset.load(net.meta["prepared_dir"]).x["test"][:8])
    folder = _saved_copy(trained, tmp_path)
    bad, what, skipped = effective(CoreMap.load(folder), name, x.reshape(8, -1))
    bad.save(folder)                                         # the sha256 rewritten: the loader accepts it
    res = runner.invoke(app, ["deploy", str(trained), "--coremap", str(folder), "--spike-frames", "8"])
    assert res.exit_code == 3, f"{what} (skipped {skipped} sites): {res.output}"
    eq = _result(trained)["equivalence"]
    assert not eq["exact"], what
    assert eq["first_mismatch"].startswith("frame ")
    assert eq["first_mismatch"] in " ".join(res.output.split())
    if name == "output_reclassed":
        assert eq["spikes_exact"] and not eq["votes_exact"]
    else:
        assert not eq["spikes_exact"], what
    assert _result(trained)["coremap"]["folder"] == str(folder)
