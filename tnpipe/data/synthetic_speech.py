"""Synthetic stand-ins for the speech corpora, written IN THE OFFICIAL FORMATS.

Synthetic TIMIT (`write_synthetic_timit`), read by timit_class, timit_frames and vad
through the same reader as the real corpus:

    <raw>/TRAIN/DR1/<SPK>/SI*.WAV|SX*.WAV   NIST SPHERE, 16 kHz, 16-bit PCM
                          /<SENT>.PHN       "<start> <end> <phone>" with 61-label phones
                          /<SENT>.TXT       "0 <samples> <text>"
                          /SA1.*, SA2.*     present (as in TIMIT) so that the reader's SA rule is exercised
    <raw>/TEST/DR1|DR2/<SPK>/...            core-test-set speakers, plus one non-core test
                                            speaker (FAKS0) that the core-test filter drops
    <raw>/SYNTHETIC.json                    written last: parameters; a complete corpus is not rewritten

Every 39-class phone is rendered as its own formant-like sound: two sinusoids at a
class-specific (F1, F2) pair from a 7 x 6 grid, scaled by a per-speaker factor (0.95..1.05)
for speaker variation, plus white noise 25 dB down; 'sil' segments are near silence (h#,
pau, epi) or a 150 Hz voice bar (closures); q is a short click-free tone. Each split holds
`per_class` phone tokens of each class (more for sil: the h# at each sentence's ends),
shuffled into sentences of 20 phones bracketed by h#, so every class appears in both
splits. Deterministic from `seed`.

Synthetic FSDD (`write_synthetic_fsdd`): recordings/{digit}_{speaker}_{index}.wav,
RIFF 16-bit PCM at 8 kHz, each digit two "syllables" with digit-specific formant pairs;
indices 0-4 are the test split as in the real set.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from tnpipe.atomic import atomic_dir, write_json
from tnpipe.data.phones import CLASSES_39, FOLD_61_TO_39
from tnpipe.data.sphere import sphere_bytes

MARKER = "SYNTHETIC.json"
SYNTH_VERSION = 1
RATE = 16000
PHONES_PER_SENTENCE = 20
TRAIN_SPEAKERS = (("DR1", "FCJF0"), ("DR1", "MCPM0"), ("DR1", "FDAW0"), ("DR1", "MDAC0"),
                  ("DR2", "FAEM0"), ("DR2", "MARC0"), ("DR2", "FAJW0"), ("DR2", "MBJV0"))
CORE_TEST_SPEAKERS = (("DR1", "MDAB0"), ("DR1", "FELC0"), ("DR2", "MTAS1"), ("DR2", "FPAS0"))
NON_CORE_TEST_SPEAKER = ("DR1", "FAKS0")

_F1 = (250.0, 350.0, 450.0, 550.0, 650.0, 750.0, 850.0)
_F2 = (1100.0, 1400.0, 1700.0, 2000.0, 2300.0, 2600.0)
_SPEECH_CLASSES = [c for c in CLASSES_39 if c != "sil"]
FORMANTS: dict[str, tuple[float, float]] = {c: (_F1[k % 7], _F2[k // 7]) for k, c in enumerate(_SPEECH_CLASSES)}
_MEMBERS: dict[str, list[str]] = {c: [p for p, f in FOLD_61_TO_39.items() if f == c] for c in CLASSES_39}
_MEMBERS["sil"] = ["pau", "epi", "bcl", "dcl", "gcl", "pcl", "tcl", "kcl"]     # h# only at sentence ends
_CLOSURES = {"bcl", "dcl", "gcl", "pcl", "tcl", "kcl"}


def _fade(x: np.ndarray, rate: int) -> np.ndarray:
    n = min(len(x) // 2, int(0.005 * rate))
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def render_phone(phone: str, n: int, speaker_scale: float, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """n samples of one phone (see the module docstring for the sound of each class)."""
    t = np.arange(n) / rate
    folded = FOLD_61_TO_39[phone]
    if folded is None:                                   # q: glottal stop, a short low tone
        x = 0.1 * np.sin(2 * np.pi * 120.0 * t)
    elif folded == "sil":
        x = 0.05 * np.sin(2 * np.pi * 150.0 * speaker_scale * t) if phone in _CLOSURES else np.zeros(n)
    else:
        f1, f2 = FORMANTS[folded]
        p1, p2 = rng.uniform(0, 2 * np.pi, 2)
        x = 0.25 * np.sin(2 * np.pi * f1 * speaker_scale * t + p1) + 0.15 * np.sin(2 * np.pi * f2 * speaker_scale * t + p2)
    x = x + rng.normal(0.0, 0.0015 if folded == "sil" or folded is None else 0.01, n)
    return _fade(x, rate)


def _tokens(per_class: int, rng: np.random.Generator) -> list[str]:
    toks = []
    for c in CLASSES_39:
        members = _MEMBERS[c]
        toks += [members[i % len(members)] for i in range(per_class)]
    toks += ["q"] * max(1, per_class // 4)
    rng.shuffle(toks)
    return toks


def _sentence(phones: list[str], scale: float, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Audio and .PHN rows of h# + phones + h#."""
    parts, rows, pos = [], [], 0
    for p in ["h#", *phones, "h#"]:
        ms = rng.uniform(150, 250) if p == "h#" else rng.uniform(50, 110)
        n = int(ms * RATE / 1000)
        parts.append(render_phone(p, n, scale, rng))
        rows.append((pos, pos + n, p))
        pos += n
    return np.concatenate(parts), rows


def _write_utterance(folder: Path, sentence: str, phones: list[str], scale: float, rng: np.random.Generator) -> None:
    audio, rows = _sentence(phones, scale, rng)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sentence}.WAV").write_bytes(sphere_bytes(audio, RATE, {"utterance_id": f"{folder.name.lower()}_{sentence.lower()}"}))
    (folder / f"{sentence}.PHN").write_text("".join(f"{a} {b} {p}\n" for a, b, p in rows))
    (folder / f"{sentence}.TXT").write_text(f"0 {len(audio)} Synthetic sentence {sentence.lower()}.\n")


def _complete(raw: Path, params: dict) -> bool:
    try:
        return json.loads((raw / MARKER).read_text()) == params
    except (OSError, ValueError):
        return False


def write_synthetic_timit(raw: Path, train_per_class: int = 40, test_per_class: int = 10, seed: int = 0) -> None:
    """Write the synthetic TIMIT-format corpus to `raw` (skipped if already complete)."""
    raw = Path(raw)
    params = {"kind": "synthetic TIMIT (tnpipe)", "version": SYNTH_VERSION, "train_per_class": train_per_class,
              "test_per_class": test_per_class, "seed": seed}
    if _complete(raw, params):
        return
    rng = np.random.default_rng([seed, 7113])
    with atomic_dir(raw) as tmp:
        for split, speakers, per_class in (("TRAIN", TRAIN_SPEAKERS, train_per_class),
                                           ("TEST", CORE_TEST_SPEAKERS, test_per_class)):
            toks = _tokens(per_class, rng)
            sentences = [toks[i:i + PHONES_PER_SENTENCE] for i in range(0, len(toks), PHONES_PER_SENTENCE)]
            scales = {spk: 0.95 + 0.1 * k / max(1, len(speakers) - 1) for k, (_, spk) in enumerate(speakers)}
            for i, phones in enumerate(sentences):
                dr, spk = speakers[i % len(speakers)]
                name = f"SI{1000 + i}" if i % 2 == 0 else f"SX{10 + i}"
                _write_utterance(tmp / split / dr / spk, name, phones, scales[spk], rng)
            for dr, spk in speakers:            # SA1/SA2 exist in TIMIT for every speaker; the reader drops them
                for sa in ("SA1", "SA2"):
                    _write_utterance(tmp / split / dr / spk, sa, list(rng.choice(toks, 8)), scales[spk], rng)
        dr, spk = NON_CORE_TEST_SPEAKER          # not in the core test set: the reader drops it by default
        for i in range(2):
            _write_utterance(tmp / "TEST" / dr / spk, f"SI{1500 + i}", list(rng.choice(toks, 10)), 1.0, rng)
        write_json(tmp / MARKER, params)


# ------------------------------------------------------------------------------------ FSDD

FSDD_RATE = 8000
FSDD_SPEAKERS = ("ada", "bram", "cleo", "dov")
# Two (F1, F2) "syllables" per digit, all distinct and below 4 kHz (Nyquist at 8 kHz).
_DIGIT_SYLLABLES = {d: ((300.0 + 60 * d, 900.0 + 150 * d), (700.0 - 40 * d, 2400.0 - 120 * d)) for d in range(10)}


def render_digit(digit: int, speaker_scale: float, rng: np.random.Generator) -> np.ndarray:
    parts = []
    for f1, f2 in _DIGIT_SYLLABLES[digit]:
        n = int(rng.uniform(0.12, 0.22) * FSDD_RATE)
        t = np.arange(n) / FSDD_RATE
        x = 0.3 * np.sin(2 * np.pi * f1 * speaker_scale * t) + 0.2 * np.sin(2 * np.pi * f2 * speaker_scale * t)
        parts.append(_fade(x + rng.normal(0, 0.01, n), FSDD_RATE))
    return np.concatenate(parts)


def write_synthetic_fsdd(raw: Path, train_per_class: int = 40, test_per_class: int = 10, seed: int = 0) -> None:
    """recordings/{digit}_{speaker}_{index}.wav at 8 kHz; index 0-4 test, 5.. train (skipped if complete)."""
    import soundfile

    raw = Path(raw)
    params = {"kind": "synthetic FSDD (tnpipe)", "version": SYNTH_VERSION, "train_per_class": train_per_class,
              "test_per_class": test_per_class, "seed": seed}
    if _complete(raw, params):
        return
    n_speakers = min(len(FSDD_SPEAKERS), max(1, math.ceil(test_per_class / 5)))
    per_speaker_train = math.ceil(train_per_class / n_speakers)
    rng = np.random.default_rng([seed, 3773])
    with atomic_dir(raw) as tmp:
        rec = tmp / "recordings"
        rec.mkdir()
        for d in range(10):
            for k, spk in enumerate(FSDD_SPEAKERS[:n_speakers]):
                scale = 0.95 + 0.1 * k / max(1, n_speakers - 1)
                for index in range(5 + per_speaker_train):
                    buf = io.BytesIO()
                    soundfile.write(buf, render_digit(d, scale, rng), FSDD_RATE, subtype="PCM_16", format="WAV")
                    (rec / f"{d}_{spk}_{index}.wav").write_bytes(buf.getvalue())
        write_json(tmp / MARKER, params)
