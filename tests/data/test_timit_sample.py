"""The real TIMIT sample (NLTK's, ../shared/data/timit-sample) and the real NOISEX-92 noise.

Tests on the real files skip cleanly where ../shared/data is absent (a clone without the
shared folder beside it); the bad-input tests build their folders from a few real files
and skip the same way. Expected counts were taken from the files themselves with
grep/awk (see each test), not from tnpipe.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from tnpipe.cli import app
from tnpipe.data import get_dataset
from tnpipe.data.config import DataCfg
from tnpipe.data.phones import CLASS_INDEX, CLASSES_39, FOLD_61_TO_39, read_phn
from tnpipe.data.sphere import read_audio
from tnpipe.data.timit_corpus import SAMPLE_TEST_SPEAKERS, find_corpus, list_utterances, speakers
from tnpipe.data.vad import NOISE_TRAIN_SHARE, noise_folder
from tnpipe.errors import DataError
from tnpipe.prepare import prepare

try:                                   # tests/ as a package, or conftest on sys.path (pytest's default)
    from ..conftest import shared_data
except ImportError:
    from conftest import shared_data


@pytest.fixture
def sample() -> Path:
    return shared_data("timit-sample")


# ------------------------------------------------------------------------ reading the sample


# Segments per file, counted with `grep -c . FILE.phn` and `awk '$3=="q"' FILE.phn | wc -l`.
KNOWN = [("dr1-fvmh0/si1466", 64, 1), ("dr3-madc0/sx287", 41, 2),
         ("dr7-fblv0/si1058", 41, 1), ("dr5-mbgt0/sx171", 54, 1)]


@pytest.mark.parametrize("stem, segments, q", KNOWN)
def test_known_phone_counts_per_file_and_fold_to_39(sample, stem, segments, q):
    phn = read_phn(sample / f"{stem}.phn")
    assert len(phn) == segments
    src = get_dataset("timit_class")
    cfg = src.resolve(DataCfg(name="timit_class"))
    u = next(u for v in list_utterances(sample).values() for u in v
             if u.phn == sample / f"{stem}.phn")
    xs, ys = src.examples(u, cfg, 0)
    assert len(ys) == segments - q                                   # q deleted, nothing else
    assert ys == [CLASS_INDEX[FOLD_61_TO_39[s.phone]] for s in phn if s.phone != "q"]
    assert ys[0] == ys[-1] == CLASS_INDEX["sil"]                     # h# at both ends
    assert xs[0].shape == (3, 32, 16)


def test_sample_listing_split_is_speaker_disjoint_and_fixed(sample):
    assert find_corpus(sample) == ("sample", sample)
    utts = list_utterances(sample)
    spk = speakers(utts)
    assert set(spk["test"]) == SAMPLE_TEST_SPEAKERS == {"FALK0", "MADC0", "FBLV0", "MADD0"}
    assert len(spk["train"]) == 12 and not set(spk["train"]) & set(spk["test"])
    assert (len(utts["train"]), len(utts["test"])) == (96, 32)       # 10 sentences less 2 SA each
    assert not any(u.sentence.startswith("SA") for v in utts.values() for u in v)
    assert {u.dialect for u in utts["test"]} == {"DR3", "DR7"}
    # phone segments without q, counted from the files:
    #   cat */s[ix]*.phn | grep -c .  -> 4988, of them q: 95; dr3-*, dr7-*: 1282, q: 25
    counted = {s: sum(1 for u in v for seg in read_phn(u.phn) if seg.phone != "q") for s, v in utts.items()}
    assert counted == {"train": 4988 - 1282 - (95 - 25), "test": 1282 - 25}


def test_sample_found_under_the_raw_root_and_full_timit_preferred(sample, tmp_path):
    src = get_dataset("timit_frames")
    assert src.raw_dir(sample.parent) == sample.parent / "timit-sample"
    (tmp_path / "timit").mkdir()
    (tmp_path / "timit-sample").mkdir()
    assert src.raw_dir(tmp_path) == tmp_path / "timit"                # the full corpus wins


def test_prepare_timit_class_from_the_raw_root(sample, roots):
    out = prepare("timit_class", raw_root=sample.parent)
    rec = out.record
    assert rec.counts == {"train": 3636, "test": 1257}               # = the segment counts above
    meta = rec.raw
    assert meta["stand_in"].startswith("real (TIMIT sample, 16 speakers): ")
    assert "FALK0, FBLV0, MADC0, MADD0" in meta["feature_params"]["test_split"]
    assert meta["class_names"] == list(CLASSES_39) and len(CLASSES_39) == 39
    assert "128 utterances (train 96, test 32)" in meta["sources"]["timit_corpus"]


# ----------------------------------------------------------------------------- VAD + noise


def test_noisex_8bit_unsigned_read_exactly():
    noise = shared_data("noise") / "NoiseX-92" / "leopard.wav"
    a = read_audio(noise)
    raw = np.frombuffer(noise.read_bytes()[44:44 + 1000], dtype=np.uint8)
    assert a.sample_rate == 8000 and len(a.samples) == 1881888 - 44 - 1   # 8-bit: one byte a sample
    assert np.array_equal(a.samples[:1000], (raw.astype(np.float32) - 128) / 128)
    # negative control: the same bytes read as signed are a different signal
    assert not np.array_equal(a.samples[:1000], raw.view(np.int8).astype(np.float32) / 128)


def test_8bit_wav_round_trip(tmp_path):
    values = np.array([0, 1, 127, 128, 129, 255], dtype=np.uint8)
    p = tmp_path / "u8.wav"
    soundfile.write(p, (values.astype(np.float64) - 128) / 128, 8000, subtype="PCM_U8")
    assert soundfile.info(p).subtype == "PCM_U8"
    assert read_audio(p).samples.tolist() == ((values.astype(np.float32) - 128) / 128).tolist()


def _snr_db(speech: np.ndarray, mix: np.ndarray, mask: np.ndarray) -> float:
    noise = mix.astype(np.float64) - speech
    return float(10 * np.log10(np.mean(speech[mask].astype(np.float64) ** 2) / np.mean(noise ** 2)))


@pytest.fixture
def vad_test_split(sample):
    shared_data("noise")
    src = get_dataset("vad")
    cfg = src.resolve(DataCfg(name="vad"))
    utts = src.utterances(sample, cfg)
    src.begin_split("test", utts["test"], sample, cfg)
    return src, cfg, utts["test"]


def test_mixed_segment_snr_measured_back(vad_test_split):
    src, cfg, items = vad_test_split
    assert cfg.snr_db[1] == 0.0                      # utterance k gets snr_db[k mod 5]: k = 1 -> 0 dB
    for k in (1, 2):
        mix, segments, rate, mask = src.mixture(items[k], cfg, k)
        speech = src.load_raw(items[k])[0].samples
        assert rate == 16000 and len(mix) == len(speech)
        assert abs(_snr_db(speech, mix, mask) - cfg.snr_db[k]) < 0.5


def test_snr_check_catches_a_wrong_gain(vad_test_split, monkeypatch):
    """Negative control for the check above: a mixer that scales the noise AMPLITUDE by
    10^(-snr/10) (a power ratio used as an amplitude ratio) mixes the 5 dB utterance at 10 dB."""
    import tnpipe.data.vad as vad

    src, cfg, items = vad_test_split

    def wrong(speech, noise, snr_db, mask):
        gain = np.sqrt(np.mean(speech[mask] ** 2) / np.mean(noise ** 2)) / 10 ** (snr_db / 10)
        return (speech + gain * noise).astype(np.float32)

    monkeypatch.setattr(vad, "mix_at_snr", wrong)
    mix, _, _, mask = src.mixture(items[2], cfg, 2)
    measured = _snr_db(src.load_raw(items[2])[0].samples, mix, mask)
    assert cfg.snr_db[2] == 5.0 and abs(measured - 5.0) > 0.5 and abs(measured - 10.0) < 0.01


def test_noise_split_in_time_between_train_and_test(vad_test_split, sample):
    src, cfg, items = vad_test_split
    folder = noise_folder(sample.parent)
    assert folder is not None and folder.name == "NoiseX-92"
    test_parts = {name: x for name, x in src._noisex}
    src.begin_split("train", [], sample, cfg)
    train_parts = {name: x for name, x in src._noisex}
    assert sorted(test_parts) == ["leopard.wav", "m109.wav", "machinegun.wav"]
    for name in test_parts:
        full = np.concatenate([train_parts[name], test_parts[name]])
        assert len(train_parts[name]) == int(len(full) * NOISE_TRAIN_SHARE)
        assert abs(len(full) - 2 * (1881888 - 44 - 1)) <= 2               # 8 kHz -> 16 kHz
    # the test utterances' noise lies inside the test part only
    src.begin_split("test", items, sample, cfg)
    part = test_parts["leopard.wav"]
    kind, noise = src.noise_for(0, items[0].speaker, 16000, cfg)
    assert kind == "noisex:leopard.wav"
    starts = np.flatnonzero(part == noise[0])
    assert any(np.array_equal(part[s:s + 16000], noise) for s in starts)


# ------------------------------------------------------------------------------ bad input


@pytest.fixture
def small_sample(sample, tmp_path) -> Path:
    """Two real speakers (one train, one test), two sentences each, NLTK layout."""
    root = tmp_path / "timit-sample"
    for spk, sents in (("dr1-fvmh0", ("si1466", "sx116")), ("dr3-falk0", ("si658", "sx186"))):
        (root / spk).mkdir(parents=True)
        for s in sents:
            for ext in (".wav", ".phn"):
                shutil.copy(sample / spk / f"{s}{ext}", root / spk / f"{s}{ext}")
    return root


def _prepare_fails(root: Path, match: str, name: str = "timit_class") -> None:
    with pytest.raises(DataError, match=match):
        get_dataset(name).read(root, DataCfg(name=name))
    res = CliRunner().invoke(app, ["prepare", name, "--source", str(root)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and re.search(match, res.output.replace("\n", ""))


def test_small_sample_reads(small_sample):
    ds = get_dataset("timit_class").read(small_sample, DataCfg(name="timit_class"))
    assert ds.stand_in.startswith("real (TIMIT sample, 2 speakers): ")
    assert len(ds.y["train"]) > 0 and len(ds.y["test"]) > 0


def test_phn_past_its_audio(small_sample, roots):
    phn = small_sample / "dr1-fvmh0" / "si1466.phn"
    lines = phn.read_text().splitlines()
    a, _, p = lines[-1].split()
    lines[-1] = f"{a} 67380 {p}"            # the wav holds 67379 samples: 1 over is tolerated
    phn.write_text("\n".join(lines) + "\n")
    get_dataset("timit_class").read(small_sample, DataCfg(name="timit_class"))
    lines[-1] = f"{a} 70000 {p}"
    phn.write_text("\n".join(lines) + "\n")
    _prepare_fails(small_sample, re.escape(str(phn)) + r": a segment ends at sample 70000, but .*si1466.wav "
                   r"holds 67379 samples; expected every range within the audio")


def test_phone_outside_the_61(small_sample, roots):
    phn = small_sample / "dr3-falk0" / "sx186.phn"
    phn.write_text(phn.read_text().replace(" h#\n", " sil\n", 1))
    _prepare_fails(small_sample, re.escape(str(phn)) + r": line 1: unknown phone 'sil'; expected one of the 61")


def test_wav_at_another_rate_is_refused(small_sample, roots):
    wav = small_sample / "dr1-fvmh0" / "sx116.wav"
    a = read_audio(wav)
    soundfile.write(wav, a.samples[::2], 8000, subtype="PCM_16")
    _prepare_fails(small_sample, re.escape(str(wav)) + r": 8000 Hz; expected 16000 Hz")


@pytest.mark.parametrize("name", ["timit_frames", "vad"])
def test_audio_without_labels(small_sample, roots, name):
    (small_sample / "dr3-falk0" / "si658.phn").unlink()
    _prepare_fails(small_sample, re.escape(str(small_sample / "dr3-falk0" / "si658.wav"))
                   + r": audio without labels; expected .*si658.PHN", name)


def test_folder_with_audio_and_no_labels_at_all(small_sample, roots):
    for p in small_sample.rglob("*.phn"):
        p.unlink()
    _prepare_fails(small_sample, r"si1466.wav: audio without labels")
