"""Speech datasets: features, TIMIT (class / frames), VAD, FSDD, synthetic stand-ins, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from tnpipe.artifacts import PreparedDataset
from tnpipe.cli import app
from tnpipe.data import features, get_dataset
from tnpipe.data.config import DataCfg
from tnpipe.data.phones import CLASS_INDEX
from tnpipe.data.sphere import write_sphere
from tnpipe.data.synthetic_speech import MARKER, write_synthetic_timit
from tnpipe.data.timit_corpus import CORE_TEST_SPEAKERS, list_utterances
from tnpipe.errors import DataError
from tnpipe.prepare import data_cfg_for, prepare

try:                                   # tests/ as a package, or conftest on sys.path (pytest's default)
    from ..conftest import shared_data
except ImportError:
    from conftest import shared_data

RATE = 16000


def _utt(folder: Path, sentence: str, phn: list[tuple[int, int, str]], ext=(".WAV", ".PHN"), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    n = phn[-1][1]
    samples = np.random.default_rng(seed).normal(0, 0.1, n)
    write_sphere(folder / f"{sentence}{ext[0]}", samples, RATE)
    (folder / f"{sentence}{ext[1]}").write_text("".join(f"{a} {b} {p}\n" for a, b, p in phn))


# Three non-q segments + one q: 3 timit_class examples per sentence.
PHN = [(0, 3200, "h#"), (3200, 4800, "ao"), (4800, 5600, "q"), (5600, 8000, "zh"), (8000, 11200, "h#")]


@pytest.fixture
def tiny_timit(tmp_path) -> Path:
    """TRAIN: 2 speakers x (SI, SX, SA1); TEST: core MDAB0 (SI, SA1) and non-core FAKS0."""
    root = tmp_path / "timit"
    _utt(root / "TRAIN/DR1/FCJF0", "SI1027", PHN)
    _utt(root / "TRAIN/DR1/FCJF0", "SX127", PHN, seed=1)
    _utt(root / "TRAIN/DR1/FCJF0", "SA1", PHN, seed=2)
    # a lower-case, RIFF-converted copy of another speaker (as some TIMIT copies have it)
    d = root / "TRAIN/dr2/faem0"
    d.mkdir(parents=True)
    soundfile.write(d / "si1392.wav", np.random.default_rng(3).normal(0, 0.1, 11200), RATE, subtype="PCM_16")
    (d / "si1392.phn").write_text("".join(f"{a} {b} {p}\n" for a, b, p in PHN))
    _utt(root / "TEST/DR1/MDAB0", "SI1039", PHN, seed=4)
    _utt(root / "TEST/DR1/MDAB0", "SA2", PHN, seed=5)
    _utt(root / "TEST/DR1/FAKS0", "SI943", PHN, seed=6)
    return root


# ------------------------------------------------------------------------------- features


@pytest.mark.parametrize("deltas, n_mfcc, shape", [("none", 26, (1, 16, 26)), ("channels", 16, (3, 32, 16)),
                                                   ("concat", 13, (1, 16, 39))])
def test_feature_layouts_match_librosa(deltas, n_mfcc, shape):
    import librosa

    cfg = DataCfg(name="x", n_mfcc=n_mfcc, frames=shape[1], deltas=deltas)
    assert features.input_shape(cfg) == shape
    y = np.random.default_rng(0).normal(0, 0.1, RATE).astype(np.float32)
    f = features.utterance_features(y, RATE, cfg)
    ref = librosa.feature.mfcc(y=y, sr=RATE, n_mfcc=n_mfcc, n_fft=512, hop_length=160, win_length=400,
                               window="hamming", n_mels=40)
    assert f.dtype == np.float32 and f.shape == (shape[0], 101, shape[2])
    np.testing.assert_allclose(f[0, :, :n_mfcc], ref.T, rtol=1e-5, atol=1e-4)
    if deltas != "none":
        d2 = librosa.feature.delta(ref, width=9, order=2).T
        got = f[2] if deltas == "channels" else f[0, :, 2 * n_mfcc:]
        np.testing.assert_allclose(got, d2, rtol=1e-5, atol=1e-4)


def test_resampling_and_short_utterance_deltas():
    cfg = DataCfg(name="x", n_mfcc=16, frames=32, deltas="channels")
    y8k = np.random.default_rng(1).normal(0, 0.1, 400).astype(np.float32)      # 50 ms at 8 kHz
    f = features.utterance_features(y8k, 8000, cfg)
    assert f.shape == (3, 6, 16)                       # 800 samples at 16 kHz -> 1 + 800 // 160 frames


def test_window_edge_pads():
    feats = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    assert features.window(feats, 0, 4)[0, :, 0].tolist() == [0, 0, 0, 1]
    assert features.window(feats, 4, 4)[0, :, 0].tolist() == [2, 3, 4, 4]


def test_standardize_uses_train_only():
    rng = np.random.default_rng(0)
    x = {"train": rng.normal(3, 2, (50, 2, 4, 3)).astype(np.float32),
         "test": rng.normal(-7, 1, (20, 2, 4, 3)).astype(np.float32)}
    out, stats = features.standardize(x)
    assert out["train"].dtype == np.float16 and out["test"].dtype == np.float16
    assert np.abs(out["train"].astype(np.float64).mean(axis=(0, 2))).max() < 1e-2
    np.testing.assert_allclose(np.array(stats["mean"]), x["train"].mean(axis=(0, 2)), atol=1e-5)
    assert out["test"].astype(np.float64).mean() < -3        # test shifted by train's stats, not its own


def test_bad_delta_layout():
    with pytest.raises(DataError, match=r"\[data\]\.deltas = 'stacked'; expected one of none, channels, concat"):
        features.input_shape(DataCfg(name="x", n_mfcc=13, frames=16, deltas="stacked"))


# ---------------------------------------------------------------------------------- TIMIT


def test_corpus_listing_drops_sa_and_keeps_core_test(tiny_timit):
    utts = list_utterances(tiny_timit)
    assert [u.uid for u in utts["train"]] == ["train/DR1/FCJF0/SI1027", "train/DR1/FCJF0/SX127",
                                             "train/DR2/FAEM0/SI1392"]
    assert [u.uid for u in utts["test"]] == ["test/DR1/MDAB0/SI1039"]
    assert [u.speaker for u in list_utterances(tiny_timit, core_test=False)["test"]] == ["FAKS0", "MDAB0"]
    assert len(CORE_TEST_SPEAKERS) == 24


def test_timit_class_exact_examples(tiny_timit, roots):
    ds = prepare("timit_class", source=tiny_timit, cfg=DataCfg(name="timit_class"))
    assert ds.record.counts == {"train": 12, "test": 4}       # 3 utterances x 4 segments (q deleted); 1 x 4
    assert ds.record.input_shape == (3, 32, 16)
    loaded = PreparedDataset.load(ds.path)
    sil, aa, sh = CLASS_INDEX["sil"], CLASS_INDEX["aa"], CLASS_INDEX["sh"]
    assert loaded.y["test"].tolist() == [sil, aa, sh, sil]             # h# ao (q) zh h#
    assert loaded.x["train"].dtype == np.float16 and loaded.x["train"].shape == (12, 3, 32, 16)
    meta = json.loads((ds.path / "meta.json").read_text())
    assert meta["feature_params"]["n_mfcc"] == 16 and meta["feature_params"]["deltas"] == "channels"
    assert len(meta["feature_params"]["mean"]) == 3 and len(meta["feature_params"]["mean"][0]) == 16
    assert "4 utterances" in meta["sources"]["timit_corpus"]


def test_timit_frames_labels_at_window_centre(tiny_timit):
    src = get_dataset("timit_frames")
    cfg = src.resolve(DataCfg(name="timit_frames"))
    assert (cfg.n_mfcc, cfg.frames, cfg.deltas, cfg.frame_stride) == (13, 16, "concat", 8)
    u = list_utterances(tiny_timit)["train"][0]
    xs, ys = src.examples(u, cfg, 0)
    # 11200 samples -> 71 frames; t = 0, 8, ..., 64 (centre sample 160 t); q (4800..5600) holds t=32
    sil, aa, sh = CLASS_INDEX["sil"], CLASS_INDEX["aa"], CLASS_INDEX["sh"]
    assert ys == [sil, sil, sil, aa, sh, sh, sil, sil]
    assert xs[0].shape == (1, 16, 39)


def test_vad_labels_on_known_spans(tmp_path):
    root = tmp_path / "timit"
    spans = [(0, 8000, "h#"), (8000, 16000, "aa"), (16000, 24000, "dcl"), (24000, 32000, "pau")]
    for split, spk in (("TRAIN", "FCJF0"), ("TEST", "MDAB0")):
        _utt(root / split / "DR1" / spk, "SI1", spans)
    src = get_dataset("vad")
    cfg = src.resolve(DataCfg(name="vad"))
    items = list_utterances(root)["train"]
    src.begin_split("train", items, root, cfg)
    xs, ys = src.examples(items[0], cfg, 0)
    # frames t = 0, 4, ..., 196 (t = 200 is past the last segment): centre 160 t
    assert ys == [0] * 13 + [1] * 25 + [0] * 12         # closures (dcl) are speech, h#/pau are not
    assert xs[0].shape == (1, 16, 26)
    ds = src.read(root, DataCfg(name="vad"))
    assert ds.counts() == {"train": 50, "test": 50}     # 25 / 25: already balanced
    assert ds.feature_params["class_counts_before_balancing"]["train"] == {"non-speech": 25, "speech": 25}
    assert "generated" in ds.feature_params["noise"]
    assert ds.stand_in == "generated noise instead of NOISEX-92"     # the report marks such rows


def test_vad_uses_noisex_when_present_and_balances(tiny_timit):
    noisex = tiny_timit.parent / "noisex"
    noisex.mkdir()
    soundfile.write(noisex / "babble.wav", np.random.default_rng(0).normal(0, 0.1, 4000), 8000, subtype="PCM_16")
    ds = get_dataset("vad").read(tiny_timit, DataCfg(name="vad"))
    assert ds.feature_params["noise"] == "NOISEX-92: babble.wav"
    assert ds.stand_in == ""                                          # TIMIT + NOISEX-92: the paper's data
    for split in ("train", "test"):
        assert np.bincount(ds.y[split]).tolist()[0] == np.bincount(ds.y[split]).tolist()[1]


def test_malformed_phn_in_corpus_names_file_and_line(tiny_timit):
    bad = tiny_timit / "TRAIN/DR1/FCJF0/SX127.PHN"
    bad.write_text("0 3200 h#\n3200 x4800 ao\n")
    with pytest.raises(DataError, match=re.escape(str(bad)) + r": line 2 '3200 x4800 ao'"):
        get_dataset("timit_class").read(tiny_timit, DataCfg(name="timit_class"))


def test_missing_timit_names_ldc_and_layout(roots):
    with pytest.raises(DataError) as e:
        prepare("timit_frames")
    msg = str(e.value)
    assert "LDC93S1" in msg and "Linguistic Data Consortium" in msg
    assert "TRAIN/DR1..DR8/<SPEAKER>/<SENTENCE>.WAV + .PHN" in msg and str(roots["raw"] / "timit") in msg
    result = CliRunner().invoke(app, ["prepare", "vad"])
    assert result.exit_code == 1 and "LDC93S1" in result.output


def test_default_cfgs_without_a_recipe(monkeypatch, tmp_path):
    monkeypatch.setenv("TNPIPE_RECIPES", str(tmp_path))       # no recipes at all
    shapes = {"vad": (1, 16, 26), "timit_class": (3, 32, 16), "timit_frames": (1, 16, 39), "fsdd": (3, 32, 16)}
    for name, shape in shapes.items():
        src = get_dataset(name)
        assert src.input_shape(data_cfg_for(name)) == shape
        assert src.input_shape(DataCfg(name=name)) == shape            # a recipe that omits the keys
    assert get_dataset("vad").input_shape(DataCfg(name="vad", n_mfcc=20)) == (1, 16, 20)


# ------------------------------------------------------------------------------ synthetic


def test_synthetic_speech_through_the_real_readers(roots):
    sizes = {}
    for name in ("timit_class", "timit_frames", "vad", "fsdd"):
        s = prepare(name, synthetic=True, cfg=DataCfg(name=name))
        sizes[name] = (s.record.counts, s.record.input_shape)
        assert s.record.synthetic
        ds = PreparedDataset.load(s.path)
        if name == "timit_class":                    # every one of the 39 classes in both splits
            assert set(ds.y["train"].tolist()) == set(range(39)) == set(ds.y["test"].tolist())
    assert sizes["timit_class"][1] == (3, 32, 16) and sizes["timit_frames"][1] == (1, 16, 39)
    assert sizes["vad"][1] == (1, 16, 26) and sizes["fsdd"] == ({"train": 400, "test": 100}, (3, 32, 16))
    raw = roots["raw"] / "synthetic" / "timit"
    # the non-core test speaker and the SA sentences exist on disk but are not read
    assert (raw / "TEST/DR1/FAKS0").is_dir() and list(raw.rglob("SA1.WAV"))
    # idempotent: a complete corpus is not rewritten
    stamp = (raw / MARKER).stat().st_mtime_ns
    write_synthetic_timit(raw)
    assert (raw / MARKER).stat().st_mtime_ns == stamp


# ----------------------------------------------------------------------------------- FSDD


def test_fsdd_real_counts_and_labels(roots):
    data = shared_data("fsdd")
    result = CliRunner().invoke(app, ["prepare", "fsdd", "--raw-root", str(data.parent)])
    assert result.exit_code == 0, result.output
    ds = PreparedDataset.load(roots["prepared"] / "fsdd")
    assert ds.counts() == {"train": 2700, "test": 300}
    assert np.bincount(ds.y["train"]).tolist() == [270] * 10 and np.bincount(ds.y["test"]).tolist() == [30] * 10
    files = sorted((data / "recordings").glob("*.wav"))
    want = {"train": [], "test": []}
    for f in files:
        digit, _, index = f.stem.split("_")
        want["test" if int(index) < 5 else "train"].append(int(digit))
    assert ds.y["train"].tolist() == want["train"] and ds.y["test"].tolist() == want["test"]
    assert ds.x["train"].shape == (2700, 3, 32, 16) and ds.x["train"].dtype == np.float16


def test_fsdd_bad_file_name(tmp_path):
    rec = tmp_path / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    soundfile.write(rec / "seven_theo_1.wav", np.zeros(800), 8000, subtype="PCM_16")
    with pytest.raises(DataError, match=r"seven_theo_1\.wav: file name does not match \{digit\}_\{speaker\}_\{index\}\.wav"):
        get_dataset("fsdd").read(tmp_path / "fsdd", DataCfg(name="fsdd"))


# ----------------------------------------------------------------------------- bad config


@pytest.mark.parametrize("name, changes, message", [
    ("timit_frames", {"frame_stride": 0}, r"\[data\]\.frame_stride = 0; expected an integer >= 1"),
    ("vad", {"snr_db": []}, r"\[data\]\.snr_db is empty"),
    ("timit_class", {"n_mfcc": 50}, r"\[data\]\.n_mfcc = 50 exceeds n_mels = 40"),
])
def test_bad_speech_config(tiny_timit, name, changes, message):
    with pytest.raises(DataError, match=message):
        get_dataset(name).read(tiny_timit, DataCfg(name=name, **changes))


def test_vad_without_silence_is_refused(tmp_path):
    root = tmp_path / "timit"
    for split, spk in (("TRAIN", "FCJF0"), ("TEST", "MDAB0")):
        _utt(root / split / "DR1" / spk, "SI1", [(0, 8000, "aa"), (8000, 16000, "s")])
    with pytest.raises(DataError, match="vad: the train split has 0 non-speech and 25 speech frames; expected both"):
        get_dataset("vad").read(root, DataCfg(name="vad"))


def test_vad_fsdd_stand_in_spans(tmp_path):
    from tnpipe.data.vad_fsdd import fsdd_utterances, join_with_gaps

    rec = tmp_path / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("3_ada_0", 2400), ("4_ada_1", 3200), ("5_ada_7", 4000), ("6_bob_9", 1600)):
        soundfile.write(rec / f"{name}.wav", rng.normal(0, 0.2, n), 8000, subtype="PCM_16")
    utts = fsdd_utterances(rec)
    assert [(u.split, u.speaker, [p.stem for p in u.files]) for u in utts["train"]] == \
        [("train", "ada", ["5_ada_7"]), ("train", "bob", ["6_bob_9"])]
    assert [p.stem for p in utts["test"][0].files] == ["3_ada_0", "4_ada_1"]
    audio, segs = join_with_gaps(utts["test"][0])
    assert audio.sample_rate == 16000 and [s.phone for s in segs] == ["h#", "digit", "h#", "digit", "h#"]
    assert [s.end - s.start for s in segs][1::2] == [4800, 6400]          # 8 kHz lengths doubled
    assert all(0.2 * 16000 <= s.end - s.start <= 0.6 * 16000 for s in segs[::2])
    assert segs[-1].end == len(audio.samples) and not audio.samples[: segs[0].end].any()
    ds = get_dataset("vad").read(tmp_path / "fsdd", DataCfg(name="vad"))
    assert ds.feature_params["speech_source"].startswith("FSDD stand-in")
    assert ds.stand_in == "FSDD digit speech instead of TIMIT; generated noise instead of NOISEX-92"
    assert "4 wav files as 3 pseudo-utterances" in ds.sources["fsdd_recordings"]
    for split in ("train", "test"):
        assert np.bincount(ds.y[split]).tolist()[0] == np.bincount(ds.y[split]).tolist()[1] > 0
