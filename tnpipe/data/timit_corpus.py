"""The TIMIT corpus on disk (LDC93S1): which utterances exist, which split they belong to.

Layout, as the LDC discs extract (names in any case; some copies are lower case):

    <raw>/TRAIN/DR1..DR8/<SPEAKER>/<SENTENCE>.WAV + .PHN (+ .WRD, .TXT)
    <raw>/TEST/DR1..DR8/<SPEAKER>/...

<raw> may also hold the corpus one or two folders down (e.g. <raw>/TIMIT/TRAIN, or
<raw>/data/TRAIN as some re-packagings have it). Audio is NIST SPHERE, or RIFF wav in
converted copies (<SENTENCE>.WAV.wav or <SENTENCE>.wav); tnpipe.data.sphere reads both.

Rules every TIMIT benchmark follows here:
  * the SA sentences (SA1, SA2: the same two dialect sentences read by every speaker)
    are dropped, as is standard, because they would bias phone statistics;
  * the test split is the 24-speaker core test set (CORE_TEST_SPEAKERS) unless
    cfg.core_test is False (then the whole 168-speaker test set).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tnpipe.errors import DataError

# The core test set: 2 male + 1 female speaker from each of the 8 dialect regions.
# Source: TIMIT documentation (timit/doc/testset.doc, "core test set"), as listed in
# Kaldi egs/timit/s5/conf/test_spk.list.
CORE_TEST_SPEAKERS: frozenset[str] = frozenset({
    "MDAB0", "MWBT0", "FELC0",   # DR1
    "MTAS1", "MWEW0", "FPAS0",   # DR2
    "MJMP0", "MLNT0", "FPKT0",   # DR3
    "MLLL0", "MTLS0", "FJLM0",   # DR4
    "MBPM0", "MKLT0", "FNLP0",   # DR5
    "MCMJ0", "MJDH0", "FMGD0",   # DR6
    "MGRT0", "MNJM0", "FDHC0",   # DR7
    "MJLN0", "MPAM0", "FMLD0",   # DR8
})

TIMIT_LAYOUT = ("TIMIT (LDC93S1) laid out as TRAIN/DR1..DR8/<SPEAKER>/<SENTENCE>.WAV + .PHN "
                "and TEST/DR1..DR8/...")
TIMIT_HOW_TO_GET = ("the Linguistic Data Consortium: TIMIT is licensed (catalog LDC93S1, "
                    "https://catalog.ldc.upenn.edu/LDC93S1) and never downloaded; put it at <raw-root>/timit/")


@dataclass(frozen=True)
class Utterance:
    split: str          # "train" or "test"
    dialect: str        # "DR1".."DR8"
    speaker: str        # upper case, e.g. "MDAB0"
    sentence: str       # upper case, e.g. "SI1234"
    audio: Path
    phn: Path

    @property
    def uid(self) -> str:
        return f"{self.split}/{self.dialect}/{self.speaker}/{self.sentence}"


def _child(folder: Path, name: str) -> Path | None:
    """The sub-folder of `folder` called `name`, compared without case."""
    if not folder.is_dir():
        return None
    for p in folder.iterdir():
        if p.is_dir() and p.name.lower() == name.lower():
            return p
    return None


def corpus_root(raw: Path) -> Path | None:
    """The folder holding TRAIN and TEST: raw itself, or up to two levels below it."""
    frontier = [Path(raw)]
    for _depth in range(3):
        for d in frontier:
            if _child(d, "train") and _child(d, "test"):
                return d
        frontier = [c for d in frontier if d.is_dir() for c in sorted(d.iterdir()) if c.is_dir()]
    return None


def _audio_for(phn: Path) -> Path | None:
    stem = phn.name.split(".")[0].lower()
    candidates = [p for p in phn.parent.iterdir()
                  if p.name.lower() in (f"{stem}.wav", f"{stem}.wav.wav")]
    # Prefer the original SPHERE .WAV; a converted .WAV.wav holds the same samples.
    candidates.sort(key=lambda p: (p.name.lower().count("."), p.name))
    return candidates[0] if candidates else None


def list_utterances(raw: Path, core_test: bool = True) -> dict[str, list[Utterance]]:
    """Every usable utterance per split, sorted (so datasets are reproducible)."""
    root = corpus_root(raw)
    if root is None:
        raise DataError(f"TIMIT: expected {TIMIT_LAYOUT} under {raw}; obtain it from {TIMIT_HOW_TO_GET}, "
                        "or use --source DIR / --synthetic")
    out: dict[str, list[Utterance]] = {}
    for split in ("train", "test"):
        utts = []
        for phn in sorted(_child(root, split).rglob("*")):
            if phn.suffix.lower() != ".phn" or not phn.is_file():
                continue
            sentence = phn.name.split(".")[0].upper()
            if sentence.startswith("SA"):
                continue
            speaker, dialect = phn.parent.name.upper(), phn.parent.parent.name.upper()
            if split == "test" and core_test and speaker not in CORE_TEST_SPEAKERS:
                continue
            audio = _audio_for(phn)
            if audio is None:
                raise DataError(f"{phn}: no audio beside it; expected {phn.parent / (phn.name.split('.')[0] + '.WAV')}")
            utts.append(Utterance(split, dialect, speaker, sentence, audio, phn))
        if not utts:
            raise DataError(f"TIMIT: no usable utterances (.PHN with audio, SA dropped"
                            f"{', core test speakers only' if split == 'test' and core_test else ''}) "
                            f"under {_child(root, split)}; expected {TIMIT_LAYOUT}")
        out[split] = utts
    return out


def corpus_digest(utts: list[Utterance], root: Path) -> str:
    """sha256 over every used file's relative path and bytes: the source checksum."""
    h = hashlib.sha256()
    for u in utts:
        for p in (u.audio, u.phn):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()
