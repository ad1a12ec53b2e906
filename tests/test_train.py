"""`tnpipe train`: learning, skip, resume, NaN stop, export, and one-line user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import tnpipe.train.schedule as schedule
from tnpipe.artifacts import NetworkDescription, PreparedDataset
from tnpipe.artifacts.checkpoint import load_checkpoint
from tnpipe.cli import app
from tnpipe.errors import DataError, RecipeError, TrainingError
from tnpipe.nn.trained import load_trained
from tnpipe.train import train

NET = "S-8 N-32 P-32(2) N-16(2)"


def write_tiny_dataset(prepared_root: Path, name: str = "tinyset", classes: int = 4, n_train: int = 320,
                       n_test: int = 80, hw: int = 8, seed: int = 0) -> Path:
    """A learnable stand-in: each class is a fixed random image, seen through 40% noise."""
    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 256, size=(classes, hw, hw, 3))

    def split(n):
        y = np.arange(n) % classes
        x = protos[y] * 0.6 + rng.integers(0, 256, size=(n, hw, hw, 3)) * 0.4
        return x.astype(np.uint8), y.astype(np.int64)

    (xtr, ytr), (xte, yte) = split(n_train), split(n_test)
    folder = prepared_root / f"{name}-synthetic"
    PreparedDataset(name, "image", (3, hw, hw), classes, [f"c{i}" for i in range(classes)],
                    {"train": xtr, "test": xte}, {"train": ytr, "test": yte}, synthetic=True).save(folder)
    return folder


def train_tiny_run(tmp: Path, n_test: int = 80) -> tuple[Path, Path]:
    """A trained tiny run (1 epoch, one thread) under its own roots in `tmp`, the environment
    restored afterwards: (run folder, prepared folder). Shared by the module fixtures that
    export, import, measure or deploy a real trained network."""
    import torch

    from tnpipe.train import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as mp:
            for root in ("raw", "prepared", "results"):
                (tmp / root).mkdir()
                mp.setenv(f"TNPIPE_{root.upper()}_ROOT", str(tmp / root))
            write_tiny_dataset(tmp / "prepared", n_test=n_test)
            rd = train(write_recipe(tmp / "tinyset.toml", epochs=1), "tiny", synthetic=True).path
    finally:
        torch.set_num_threads(threads)
    return rd, tmp / "prepared" / "tinyset-synthetic"


def write_recipe(path: Path, epochs: int = 4, extra: str = "") -> Path:
    path.write_text(f"""
[data]
name = "tinyset"
[train]
epochs = {epochs}
batch_size = 32
lr = 0.01
optimizer = "adam"
{extra}
[networks]
tiny = "{NET}"
again = "{NET}"
""")
    return path


def run_lines(log: Path) -> list[str]:
    """train.log's epoch and done lines: the precision lines (tnpipe.nn.probe) at each start left out."""
    return [ln for ln in log.read_text().splitlines() if not ln.startswith(("precision ", "  "))]


@pytest.fixture
def tiny(roots, tmp_path):
    write_tiny_dataset(roots["prepared"])
    return write_recipe(tmp_path / "tinyset.toml")


def test_tiny_network_learns_and_exports(tiny, roots):
    out = train(tiny, "tiny", synthetic=True)
    rd = out.path
    assert out.status == "done" and out.record.hw_test_acc == json.loads((rd / "train.json").read_text())["hw_test_acc"]
    assert rd == roots["results"] / "tinyset-synthetic" / "tiny"
    meta = json.loads((rd / "train.json").read_text())
    assert meta["finished"] and meta["synthetic"] and meta["epochs"] == 4 and meta["test_frames"] == 80
    assert meta["hw_test_acc"] >= 0.6            # chance is 0.25
    assert meta["agreement"] == 1.0 and meta["float_test_acc"] == meta["hw_test_acc"]
    assert len(run_lines(rd / "train.log")) == 5   # 4 epochs + done (after the precision lines)
    # train.precision = auto: the probe's choice per on-chip layer and its times, in both records
    prec = meta["precision"]
    assert prec["setting"] == "auto" and len(prec["per_layer"]) == 3
    assert [c["arithmetic"] for c in prec["layers"]] == prec["per_layer"]
    log = (rd / "train.log").read_text().splitlines()
    assert log[0].startswith("precision auto (") and log[1].split()[0] == "N-32"
    # load_trained reproduces the recorded hardware-mode accuracy from the stored test split
    net = load_trained(rd)
    ds = PreparedDataset.load(roots["prepared"] / "tinyset-synthetic")
    spikes = net.transduce(ds.x["test"])
    assert spikes.dtype == np.uint8 and spikes.shape == (80, 8, 8, 8) and set(np.unique(spikes)) <= {0, 1}
    votes = net.hardware_votes(spikes)
    assert votes.dtype == np.int64 and votes.shape == (80, 4)
    assert float((votes.argmax(1) == ds.y["test"]).mean()) == meta["hw_test_acc"]
    assert np.array_equal(net.predict_float(ds.x["test"]), votes.argmax(1))
    desc = NetworkDescription.load(rd / "network.npz")
    assert desc.network == NET and [layer.kind for layer in desc.layers] == ["N", "P", "N"]


@pytest.mark.parametrize("arithmetic", ["int8", "bf16_fwd"])
def test_an_explicit_precision_is_honoured_and_recorded(tiny, arithmetic):
    from tnpipe.nn.precision import int8_supported

    if arithmetic == "int8" and not int8_supported():
        pytest.skip("this torch has no torch._int_mm on CPU")
    rd = train(tiny, "tiny", synthetic=True, overrides=["train.epochs=1", f"train.precision={arithmetic}"]).path
    meta = json.loads((rd / "train.json").read_text())
    assert meta["precision"] == {"setting": arithmetic, "per_layer": [arithmetic] * 3}
    assert (rd / "train.log").read_text().splitlines()[0] == f"precision {arithmetic}"
    assert meta["agreement"] == 1.0


def test_finished_run_is_skipped_unless_forced(tiny):
    rd = train(tiny, "tiny", synthetic=True, overrides=["train.epochs=1"]).path
    stamp = (rd / "train.json").stat().st_mtime_ns
    assert train(tiny, "tiny", synthetic=True, overrides=["train.epochs=1"]).status == "reused"
    assert (rd / "train.json").stat().st_mtime_ns == stamp
    assert train(tiny, "tiny", synthetic=True, overrides=["train.epochs=1"], force=True).status == "done"
    assert (rd / "train.json").stat().st_mtime_ns != stamp


def test_resume_after_kill_gives_identical_weights(tiny):
    whole = train(tiny, "tiny", synthetic=True, overrides=["train.epochs=3", "train.dropout=0.2"],
                  layers="S-8 N-32 D P-32(2) N-16(2)").path

    def kill_after_first(epoch: int) -> None:   # a kill right after epoch 1's checkpoint
        if epoch == 1:
            raise KeyboardInterrupt("killed after epoch 1")

    with pytest.raises(KeyboardInterrupt):
        train(tiny, "again", synthetic=True, overrides=["train.epochs=3", "train.dropout=0.2"],
              layers="S-8 N-32 D P-32(2) N-16(2)", on_epoch_end=kill_after_first)
    part = load_checkpoint(whole.parent / "again" / "checkpoint.pt")
    assert part.epoch == 1 and not part.finished
    resumed = train(tiny, "again", synthetic=True, overrides=["train.epochs=3", "train.dropout=0.2"],
                    layers="S-8 N-32 D P-32(2) N-16(2)", resume=True).path
    a, b = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(resumed / "checkpoint.pt")
    assert a.finished and b.finished and a.epoch == b.epoch == 3
    assert a.model.keys() == b.model.keys()
    for k in a.model:
        assert torch.equal(a.model[k], b.model[k]), k
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tiny, monkeypatch):
    calls = {"n": 0}
    real = schedule.loss_fn
    steps_per_epoch = 320 // 32

    def loss_fn(votes, y, scale):
        calls["n"] += 1
        out = real(votes, y, scale)
        return out * float("nan") if calls["n"] > steps_per_epoch + 2 else out

    monkeypatch.setattr(schedule, "loss_fn", loss_fn)
    with pytest.raises(TrainingError, match=r"loss became NaN/inf at epoch 2 step 3 .*still holds the last good state \(epoch 1\)"):
        train(tiny, "tiny", synthetic=True)
    state = load_checkpoint(tiny.parent / "results" / "tinyset-synthetic" / "tiny" / "checkpoint.pt")
    assert state.epoch == 1 and not state.finished
    assert all(torch.isfinite(v).all() for v in state.model.values() if v.is_floating_point())


def test_missing_prepared_dataset_names_the_command(roots, tmp_path):
    recipe = write_recipe(tmp_path / "tinyset.toml")
    with pytest.raises(DataError, match=r"run `tnpipe prepare tinyset --synthetic` first"):
        train(recipe, "tiny", synthetic=True)


@pytest.mark.parametrize("args, message", [
    (["--layers", "S-16 S-40"], "layer 1 'S-40': fan-in 3x3x16/1 = 144 exceeds the limit of 128"),
    (["--layers", "S-8 X-40"], "token 2 'X-40': unknown layer token"),
    (["--set", "train.epoch=3"], "unknown key 'epoch' (did you mean 'epochs'?); valid keys: epochs,"),
    (["--set", "train.epochs=many"], "train].epochs: value 'many' has the wrong type"),
    (["--set", "train.optimizer=rmsprop"], "train].optimizer: 'rmsprop' is not one of sgd, adam"),
    (["--network", "huge"], "no network 'huge'; this recipe defines: tiny, again"),
])
def test_cli_bad_input_is_one_line_and_exit_1(tiny, args, message):
    argv = ["train", str(tiny), "--synthetic"] + (["--network", "tiny"] if "--network" not in args else []) + args
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and message in err, err


def test_fan_in_error_comes_before_any_data_is_needed(roots):
    """The network is checked against the core before the prepared dataset is looked for."""
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "cifar10.toml"
    result = CliRunner().invoke(app, ["train", str(recipe), "--network", "tiny", "--layers", "S-16 S-64"])
    assert result.exit_code == 1
    assert "layer 1 'S-64': fan-in 3x3x16/1 = 144" in result.stderr, result.stderr
    assert not any(roots["results"].iterdir())


def test_per_network_settings_and_precedence(tmp_path):
    from tnpipe.errors import RecipeError
    from tnpipe.recipe import load_recipe

    recipe = write_recipe(tmp_path / "r.toml", epochs=4, extra="[train.per_network.tiny]\nepochs = 9\nlr = 0.5")
    r = load_recipe(recipe)
    assert r.train.for_network("again").epochs == 4
    tiny = r.train.for_network("tiny")
    assert (tiny.epochs, tiny.lr, tiny.batch_size) == (9, 0.5, 32)
    assert r.train.for_network("tiny", ["train.epochs=2"]).epochs == 2   # --set wins
    bad = load_recipe(write_recipe(tmp_path / "b.toml", extra="[train.per_network.tiny]\nepoch = 9"))
    with pytest.raises(RecipeError, match=r"per_network.tiny: unknown key 'epoch'"):
        bad.train.for_network("tiny")


def test_repository_recipes_parse_and_fit_the_core():
    from tnpipe.netspec import parse_network
    from tnpipe.recipe import load_recipe

    shapes = {"vad": (1, 16, 26), "timit_class": (3, 32, 16), "timit_frames": (1, 16, 39), "fsdd": (3, 32, 16)}
    classes = {"cifar10": 10, "svhn": 10, "cifar100": 100, "gtsrb": 43, "logo32": 32, "vad": 2,
               "timit_class": 39, "timit_frames": 39, "fsdd": 10}
    recipes = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.toml"))
    assert [p.stem for p in recipes] == sorted(classes)
    for p in recipes:
        r = load_recipe(p)
        assert r.chip.profile == "truenorth-1.0v"
        assert {"tiny", "cpu", "1chip"} <= set(r.networks)
        for name, text in r.networks.items():
            spec = parse_network(text, shapes.get(r.data.name, (3, 32, 32)), classes[r.data.name])
            r.train.for_network(name).validate(str(p))
            assert spec.layers[-1].out_channels % classes[r.data.name] == 0, (p.stem, name)
    c10 = load_recipe(recipes[[p.stem for p in recipes].index("cifar10")])
    assert c10.networks["1chip"].split()[1:3] == ["P4-252(2)", "N-256(2)"] and len(c10.networks["1chip"].split()) == 15
    assert "D" in c10.networks["half"].split()
    speech = {p.stem: load_recipe(p).data for p in recipes if p.stem in shapes}
    assert (speech["vad"].n_mfcc, speech["vad"].frames, speech["vad"].deltas) == (26, 16, "none")
    assert (speech["timit_class"].n_mfcc, speech["timit_class"].frames, speech["timit_class"].deltas) == (16, 32, "channels")
    assert (speech["timit_frames"].n_mfcc, speech["timit_frames"].frames, speech["timit_frames"].deltas) == (13, 16, "concat")
    assert (speech["fsdd"].n_mfcc, speech["fsdd"].frames, speech["fsdd"].deltas) == (16, 32, "channels")


def test_tiny_network_on_cuda_matches_its_own_hardware_mode(tiny, roots):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    rd = train(tiny, "tiny", synthetic=True, device="cuda").path
    meta = json.loads((rd / "train.json").read_text())
    assert meta["finished"] and meta["agreement"] == 1.0 and meta["hw_test_acc"] >= 0.6


def test_time_budget_stops_and_still_exports(tiny):
    rd = train(tiny, "tiny", synthetic=True, overrides=["train.epochs=50", "train.time_budget_min=0.002"]).path
    meta = json.loads((rd / "train.json").read_text())
    assert meta["finished"] and meta["epochs_planned"] == 50 and 1 <= meta["epochs"] < 50
    # the budget ends either inside an epoch (the last one is partial) or right at an
    # epoch boundary (all recorded epochs complete); both must say so in the log
    assert meta["agreement"] == 1.0
    if meta["history"][-1]["complete"]:
        assert f"stopped before epoch {meta['epochs'] + 1}" in (rd / "train.log").read_text()
    assert "time budget of 0.002 min spent" in (rd / "train.log").read_text()
    assert load_checkpoint(rd / "checkpoint.pt").epoch == meta["epochs"]


def test_lr_schedules():
    from tnpipe.nn.train_section import TrainCfg
    from tnpipe.train import lr_at

    step = TrainCfg(lr=1.0, schedule="step", lr_drops=[0.5, 0.75])
    assert [round(lr_at(step, s, 100), 6) for s in (0, 49, 50, 74, 75, 99)] == [1, 1, 0.1, 0.1, 0.01, 0.01]
    cos = TrainCfg(lr=1.0, schedule="cosine")
    assert lr_at(cos, 0, 100) == 1.0 and lr_at(cos, 50, 100) == pytest.approx(0.5)
    assert lr_at(cos, 10, 100, time_frac=0.5) == pytest.approx(0.5)   # the budget leads
    assert lr_at(cos, 10, 100, time_frac=2.0) == pytest.approx(0.0)


def test_bias_lr_scale_scales_only_the_thresholds_step():
    """SGD's first step is -lr x grad: the biases move by lr x bias_lr_scale x grad, the
    weights by lr x grad, and the schedule's per-step lr keeps that ratio."""
    from tnpipe.netspec import parse_network
    from tnpipe.nn.network import EednNet
    from tnpipe.nn.train_section import TrainCfg

    torch.manual_seed(0)
    model = EednNet(parse_network("S-8 P4-64(2) N-120(4)", (3, 8, 8), 10))
    cfg = TrainCfg(optimizer="sgd", lr=20.0, momentum=0.9, bias_lr_scale=0.1)
    opt = schedule.make_optimizer(model, cfg)
    schedule.set_lr(opt, 4.0)                       # what a step of the schedule does
    x, y = torch.rand(16, 3, 8, 8), torch.arange(16) % 10
    schedule.loss_fn(model(x), y, 1.0).backward()
    bias, hidden = model.chip[0].bn.bias, model.chip[0].conv.hidden
    before = bias.detach().clone(), hidden.detach().clone()
    opt.step()
    assert torch.allclose(before[0] - bias.detach(), 4.0 * 0.1 * bias.grad, rtol=1e-5, atol=1e-6)
    # atol: |w| ~ 1 carries a float32 rounding of ~6e-8 into the difference
    assert torch.allclose(before[1] - hidden.detach(), 4.0 * hidden.grad, rtol=1e-5, atol=1e-6)
    assert bias.grad.abs().max() > 0 and hidden.grad.abs().max() > 0


def test_bias_lr_scale_must_be_positive():
    from tnpipe.nn.train_section import TrainCfg

    with pytest.raises(RecipeError, match=r"\[train\].bias_lr_scale: 0.0 must be > 0"):
        TrainCfg(bias_lr_scale=0.0).validate()


def test_run_key_ignores_a_later_setting_only_at_its_default():
    from tnpipe.train.plan import run_key

    recipe = {"data": {"name": "x"}, "train": {"lr": 0.1}}
    key = run_key(recipe, "S-8", 0, True, {})
    assert run_key({**recipe, "train": {"lr": 0.1, "bias_lr_scale": 1.0}}, "S-8", 0, True, {}) == key
    assert run_key({**recipe, "train": {"lr": 0.1, "bias_lr_scale": 0.1}}, "S-8", 0, True, {}) != key


def test_the_checkpoint_rebuilds_the_model_without_train_json(roots, tmp_path):
    """The checkpoint carries the model's arguments (network, input shape, classes, dropout,
    hysteresis, init scale): it rebuilds the model alone. A checkpoint of an earlier release
    (no model_args) still loads and rebuilds through train.json's [train]."""
    import shutil

    from tnpipe.artifacts.checkpoint import CHECKPOINT_NAME, Checkpoint, ModelArgs
    from tnpipe.errors import ArtifactError
    from tnpipe.nn.trained import load_record, model_from_checkpoint

    write_tiny_dataset(roots["prepared"])
    rd = train(write_recipe(tmp_path / "tinyset.toml", epochs=1, extra="dropout = 0.25"), "tiny", synthetic=True).path
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(rd / CHECKPOINT_NAME, alone / CHECKPOINT_NAME)          # no train.json, no network.npz
    state = Checkpoint.load(alone / CHECKPOINT_NAME)
    assert state.model_args == ModelArgs(dropout=0.25, hysteresis=0.1, init_scale=1.0)
    x = torch.rand(16, 3, 8, 8) * 255
    expected = load_trained(rd).model(x)
    assert torch.equal(model_from_checkpoint(state)(x), expected)
    # negative control: a checkpoint of the last release, without model_args
    raw = torch.load(alone / CHECKPOINT_NAME, weights_only=True)
    del raw["model_args"]
    torch.save(raw, alone / CHECKPOINT_NAME)
    old = Checkpoint.load(alone / CHECKPOINT_NAME)
    assert old.model_args is None
    with pytest.raises(ArtifactError, match="records no model arguments .* its train.json is needed"):
        model_from_checkpoint(old)
    rebuilt = model_from_checkpoint(old, record=load_record(rd))      # as before: through train.json
    assert torch.equal(rebuilt(x), expected)
    raw["model_args"] = {"dropout": "half", "hysteresis": 0.1, "init_scale": 1.0}
    torch.save(raw, alone / CHECKPOINT_NAME)
    with pytest.raises(ArtifactError, match=r"checkpoint.pt: model_args .* expected numbers dropout"):
        Checkpoint.load(alone / CHECKPOINT_NAME)
