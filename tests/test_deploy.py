"""The deploy stage end to end, on a fake trained run (random trinary network, toy images).

The fake's hardware votes come from tnpipe.nn.hardware (the training graph's own integer
mode), so 100% agreement here checks the chip against the trainer's implementation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.chip.netref import forward, random_description
from tnpipe.artifacts import PreparedDataset, RunResult, load_result
from tnpipe.artifacts.training import TrainingRecord
from tnpipe.chip.config import ChipCfg
from tnpipe.chip.coremap import CoreMap
from tnpipe.cli import app
from tnpipe.nn.train_section import TrainCfg

NET = ("S-8 P4-64(2) N-64(2) P-64(4) N-40(2)", (8, 16, 16), 10)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class FakeTrained:
    """The TrainedNetwork interface deploy uses, over a random NetworkDescription."""

    def __init__(self, desc, meta):
        self.description, self.meta = desc, meta

    def transduce(self, x: np.ndarray) -> np.ndarray:
        # off-chip stand-in: channel k of the spikes = (colour k%3 above a k-dependent level)
        c = self.description.input_shape[0]
        img = x.transpose(0, 3, 1, 2).astype(np.int64)
        return np.stack([(img[:, k % 3] > 30 * (k + 1)) for k in range(c)], 1).astype(np.uint8)

    def hardware_votes(self, spikes: np.ndarray) -> np.ndarray:
        try:
            from tnpipe.nn.hardware import hardware_votes
        except ImportError:  # pragma: no cover - the nn part is absent
            return self.description.votes(forward(self.description, spikes)[-1])
        return hardware_votes(self.description, spikes, 64, "cpu")

    def predict_float(self, x: np.ndarray) -> np.ndarray:
        return self.hardware_votes(self.transduce(x)).argmax(1)


@pytest.fixture
def run_dir(roots, monkeypatch):
    rng = np.random.default_rng(0)
    n = 40
    ds = PreparedDataset(name="toy", kind="image", input_shape=(3, 16, 16), num_classes=10,
                         class_names=[str(i) for i in range(10)],
                         x={"train": rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8),
                            "test": rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)},
                         y={"train": rng.integers(0, 10, 8), "test": rng.integers(0, 10, n)}, synthetic=True)
    prep = roots["prepared"] / "toy-synthetic"
    ds.save(prep)
    desc = random_description(*NET, seed=5)
    rd = roots["results"] / "toy-synthetic" / "net"
    rd.mkdir(parents=True)
    desc.save(rd / "network.npz")
    record = TrainingRecord(dataset="toy", network="net", network_text=NET[0], synthetic=True,
                            prepared_dir=str(prep), run_key="k", seed=0, test_frames=n, hw_test_acc=0.0,
                            float_test_acc=0.0, agreement=1.0, test_acc_running_stats=None, epochs=1,
                            epochs_planned=1, time_budget_min=0.0, seconds=0.0, bn_stats="full", train=TrainCfg(),
                            chip=ChipCfg(placement="regions"))   # the default the run was trained with
    record.save(rd)
    import tnpipe.nn.trained as trained

    monkeypatch.setattr(trained, "load_trained", lambda run_dir, device="cpu": FakeTrained(
        random_description(*NET, seed=int((run_dir / "seed").read_text()) if (run_dir / "seed").is_file() else 5),
        record))
    return rd


def test_deploy_writes_a_complete_result_with_full_agreement(run_dir):
    from tnpipe.deploy import deploy

    out = deploy(run_dir)
    assert out.status == "done" and out.path == run_dir / "result.json"
    res = out.record
    stored = load_result(run_dir / "result.json")
    assert isinstance(stored, RunResult) and stored == RunResult.from_json(stored.to_json(), "round trip")
    assert stored.frames == 40 and stored.synthetic is True
    assert stored.agreement == 1.0 and stored.votes_identical is True
    assert stored.accuracy_chip == stored.accuracy_graph
    assert stored.energy_model.model_estimate is True and stored.energy_model.voltage == 1.0
    assert stored.mw > 0 and stored.fps > 0
    assert stored.uj_per_frame == pytest.approx(stored.mw / stored.fps * 1e3)
    assert stored.fps_per_w == pytest.approx(stored.fps / (stored.mw / 1e3))
    cm = CoreMap.load(run_dir)
    assert stored.cores == cm.n_cores == sum(stored.cores_per_layer.values())
    fp = stored.floorplan
    assert len(fp.core_x) == len(fp.core_spikes_per_frame) == cm.n_cores
    assert fp.layer_names == cm.layer_names and fp.width == 64
    assert stored.spikes_per_frame == pytest.approx(sum(fp.core_spikes_per_frame), rel=1e-3)
    assert res.latency_ticks == cm.latency_ticks


def test_deploy_reuses_a_current_result_and_redoes_with_force_or_another_network(run_dir):
    from tnpipe.deploy import deploy

    first = deploy(run_dir, frames=8)
    assert first.record.frames == 8 and first.status == "done"
    again = deploy(run_dir, frames=8)
    assert again.status == "reused" and again.record.date == first.record.date
    forced = deploy(run_dir, frames=9, force=True)
    assert forced.record.frames == 9 and forced.status == "done"
    assert deploy(run_dir, frames=8).status == "done"          # other frames than the stored result's
    assert deploy(run_dir, frames=8).status == "reused"
    (run_dir / "seed").write_text("6")                         # retrained: another network.npz
    random_description(*NET, seed=6).save(run_dir / "network.npz")
    assert deploy(run_dir, frames=8).status == "done"


def test_cli_set_chip_placement_takes_effect_on_a_run_trained_with_the_default(run_dir):
    first = CliRunner().invoke(app, ["deploy", str(run_dir), "--frames", "8"])
    assert first.exit_code == 0, first.output
    stored = load_result(run_dir / "result.json")
    assert stored.chip["placement"] == "regions" and CoreMap.load(run_dir).info["placement"] == "regions"
    result = CliRunner().invoke(app, ["deploy", str(run_dir), "--frames", "8", "--set", "chip.placement=snake"])
    assert result.exit_code == 0, result.output
    assert "reused" not in result.stderr
    stored = load_result(run_dir / "result.json")
    assert stored.chip["placement"] == "snake" and stored.made_from["chip"]["placement"] == "snake"
    assert CoreMap.load(run_dir).info["placement"] == "snake"
    bad = CliRunner().invoke(app, ["deploy", str(run_dir), "--set", "chip.placement=spiral"])
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1 and "spiral" in bad.stderr, bad.stderr


def test_deploy_uses_the_records_chip_settings_then_set_on_top(run_dir, monkeypatch):
    """Deploy reads the [chip] section as the typed record holds it (ChipCfg, no rebuilding from a
    dict), then `--set chip.*`; the record itself is left as it was."""
    import tnpipe.deploy.stage as stage
    from tnpipe.deploy import chip_settings, deploy
    from tnpipe.nn.trained import load_record

    record = load_record(run_dir)
    record.chip = ChipCfg(placement="snake", frames=12)
    record.save(run_dir)
    seen = []
    real = stage.trained.load_record
    monkeypatch.setattr(stage.trained, "load_record", lambda rd: seen.append(real(rd)) or seen[-1])
    res = deploy(run_dir).record
    assert isinstance(seen[0].chip, ChipCfg) and res.frames == 12 and res.chip["placement"] == "snake"
    assert CoreMap.load(run_dir).info["placement"] == "snake"
    on_top = chip_settings(seen[0], ["chip.frames=7"])
    assert on_top == ChipCfg(placement="snake", frames=7) and seen[0].chip == ChipCfg(placement="snake", frames=12)
    # negative control: the record's defaults give the whole test split, regions
    record.chip = ChipCfg()
    record.save(run_dir)
    res = deploy(run_dir).record
    assert res.frames == 40 and res.chip["placement"] == "regions"


def test_fixed_tick_rate_sets_fps(run_dir):
    from tnpipe.deploy import deploy

    res = deploy(run_dir, frames=8, tick_hz=1000.0).record
    assert res.fps == 1000.0 and res.tick_source == "recipe"


def test_cli_deploy_prints_tables(run_dir):
    result = CliRunner().invoke(app, ["deploy", str(run_dir), "--frames", "8"])
    assert result.exit_code == 0, result.output
    assert "cores per layer" in result.output
    assert "agreement with the training graph: 100.00% (8/8 frames)" in result.output


def test_cli_plan_only_ends_with_total_cores():
    from tnpipe.deploy import plan

    recipe = Path(__file__).resolve().parents[1] / "recipes" / "cifar10.toml"
    result = CliRunner().invoke(app, ["deploy", "--plan-only", str(recipe), "--network", "tiny"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last == f"total cores: {plan(recipe, 'tiny').n_cores}"


def test_cli_deploy_missing_run_is_one_red_line(roots):
    result = CliRunner().invoke(app, ["deploy", str(roots["results"] / "nope" / "net")])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("change, message", [
    ({"hw_test_acc": "high"}, "'hw_test_acc' is str 'high'; expected float"),
    ({"format_version": 7}, "training record format_version 7; expected 1"),
    ({"run_key": None}, "'run_key' is NoneType None; expected str"),
    (None, "key 'prepared_dir' missing"),
])
def test_bad_training_record_is_one_line_naming_the_file(run_dir, change, message):
    import json

    path = run_dir / "train.json"
    obj = json.loads(path.read_text())
    if change is None:
        del obj["prepared_dir"]
    else:
        obj.update(change)
    path.write_text(json.dumps(obj))
    result = CliRunner().invoke(app, ["deploy", str(run_dir)])
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}:") and message in err, err


def test_deploy_locks_its_own_run_folder(run_dir):
    """Like train, the stage takes the run folder's lock itself: a direct call is refused too."""
    from tnpipe.deploy import deploy
    from tnpipe.errors import LockedError
    from tnpipe.locks import hold, run_lock

    with hold(run_lock(run_dir), "test holder"):
        with pytest.raises(LockedError, match=f"{run_dir}: in use by process"):
            deploy(run_dir, frames=8)
    assert not (run_dir / "result.json").exists()
    assert deploy(run_dir, frames=8).status == "done"


SMALL_MESH = """
name = "mesh-4x4"
voltage = 1.0
[core]                     # TrueNorth's cores on a 4 x 4 mesh: 16 cores per chip
chip_width = 4
chip_height = 4
[energy]
p_idle_mw_per_chip = 16.0
e_sop_pj = 2.57
e_hop_pj = 3.83
e_periphery_pj_per_bit = 2.0
e_chip_pj_per_bit = 26.0
packet_bits = 32
[timing]
tick_floor_us = 47.6
sop_ns = 70.6
"""


@pytest.fixture
def profiles(tmp_path, monkeypatch):
    """The shipped profiles plus ONE new file: the whole of adding a chip."""
    import shutil

    import tnpipe.chip.profile as profile

    folder = tmp_path / "profiles"
    shutil.copytree(profile.PROFILES, folder)
    (folder / "mesh-4x4.toml").write_text(SMALL_MESH)
    monkeypatch.setattr(profile, "PROFILES", folder)
    return folder


def test_a_second_chip_profile_is_one_file(run_dir, profiles):
    from tnpipe.deploy import deploy

    base = deploy(run_dir, frames=8).record
    assert base.chips == 1 and base.energy_model.profile == "truenorth-1.0v"
    res = deploy(run_dir, frames=8, overrides=("chip.profile=mesh-4x4",)).record
    from tnpipe.chip.profile import load_profile

    cm = CoreMap.load(run_dir, load_profile("mesh-4x4").spec)   # checked against its own chip
    assert (cm.spec.chip_width, cm.spec.chip_height, cm.spec.cores_per_chip) == (4, 4, 16)
    assert res.chips == cm.chips == -(-res.cores // 16) > 1 and res.floorplan.width == 4
    assert res.energy_model.profile == "mesh-4x4" and res.chip["profile"] == "mesh-4x4"
    assert res.static_mw == pytest.approx(16.0 * res.cores / 16)        # idle share of the profile's chip
    assert res.equivalence.exact and (res.accuracy_chip, res.agreement) == (base.accuracy_chip, 1.0)


def test_a_profile_with_a_wrong_core_key_is_one_line(run_dir, profiles):
    from tnpipe.deploy import deploy
    from tnpipe.errors import RecipeError

    (profiles / "bad.toml").write_text(SMALL_MESH.replace("chip_width = 4", "chip_wide = 4"))
    with pytest.raises(RecipeError, match=r"bad.toml: \[core\]: unknown key 'chip_wide' \(did you mean 'chip_width'\?\); valid keys: axons"):
        deploy(run_dir, frames=8, overrides=("chip.profile=bad",))
    assert not (run_dir / "result.json").exists()
