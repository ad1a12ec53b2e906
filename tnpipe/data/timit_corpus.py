"""The TIMIT corpus on disk (LDC93S1): which utterances exist, which split they belong to.

Layout, as the LDC discs extract (names in any case; some copies are lower case):

    <raw>/TRAIN/DR1..DR8/<SPEAKER>/<SENTENCE>.WAV + .PHN (+ .WRD, .TXT)
    <raw>/TEST/DR1..DR8/<SPEAKER>/...

<raw> may also hold the corpus one or two folders down (e.g. <raw>/TIMIT/TRAIN, or
<raw>/data/TRAIN as some re-packagings have it). Audio is NIST SPHERE, or RIFF wav in
converted copies (<SENTENCE>.WAV.wav or <SENTENCE>.wav); tnpipe.data.sphere reads both.

The TIMIT sample that NLTK distributes (160 utterances of 16 speakers: one woman and one
man from each of the 8 dialect regions) is read too, in NLTK's layout:

    <raw>/drR-Xssss0/<sentence>.wav + .phn     (R = region 1..8, X = f/m, lower case, RIFF)

with no TRAIN/TEST folders. It is found as <raw-root>/timit-sample when <raw-root>/timit
does not exist (TimitSource.raw_folders), or through --source DIR. Its split is fixed here
(it has no official one): SAMPLE_TEST_SPEAKERS, both speakers of dialect regions 3 and 7
(2 women, 2 men; 32 utterances without SA), chosen before any training and never tuned;
the other 12 speakers train. Speakers are disjoint, as in full TIMIT.

Rules every TIMIT benchmark follows here:
  * the SA sentences (SA1, SA2: the same two dialect sentences read by every speaker)
    are dropped, as is standard, because they would bias phone statistics;
  * the test split is the 24-speaker core test set (CORE_TEST_SPEAKERS) unless
    cfg.core_test is False (then the whole 168-speaker test set); on the sample it is
    SAMPLE_TEST_SPEAKERS whatever cfg.core_test says;
  * every audio file needs its .PHN: audio without labels is an error, never skipped
    (a silently shorter dataset would look like a result on the whole folder).
"""

from __future__ import annotations

import hashlib
import re
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

# The TIMIT sample's test speakers (NLTK layout, upper case): dialect regions 3 and 7, both
# speakers of each (dr3-falk0, dr3-madc0, dr7-fblv0, dr7-madd0).
SAMPLE_TEST_SPEAKERS: frozenset[str] = frozenset({"FALK0", "MADC0", "FBLV0", "MADD0"})
SAMPLE_FOLDER = "timit-sample"     # its folder under the raw root
FULL_TIMIT_SPEAKERS = 630
TIMIT_RATE = 16000                 # .PHN sample indices count 16 kHz samples
_NLTK_SPEAKER = re.compile(r"^dr([1-8])-([fm][a-z]{3}[0-9])$", re.IGNORECASE)

TIMIT_LAYOUT = ("TIMIT (LDC93S1) laid out as TRAIN/DR1..DR8/<SPEAKER>/<SENTENCE>.WAV + .PHN "
                "and TEST/DR1..DR8/... (or NLTK's TIMIT sample: drR-Xssss0/<sentence>.wav + .phn)")
TIMIT_HOW_TO_GET = ("the Linguistic Data Consortium: TIMIT is licensed (catalog LDC93S1, "
                    "https://catalog.ldc.upenn.edu/LDC93S1) and never downloaded; put it at <raw-root>/timit/ "
                    "(NLTK's free 16-speaker TIMIT sample: at <raw-root>/timit-sample/)")


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


def sample_root(raw: Path) -> Path | None:
    """The folder holding NLTK-layout speaker folders (drR-Xssss0): raw or up to two levels below."""
    frontier = [Path(raw)]
    for _depth in range(3):
        for d in frontier:
            if d.is_dir() and any(c.is_dir() and _NLTK_SPEAKER.match(c.name) for c in d.iterdir()):
                return d
        frontier = [c for d in frontier if d.is_dir() for c in sorted(d.iterdir()) if c.is_dir()]
    return None


def find_corpus(raw: Path) -> tuple[str, Path] | None:
    """("ldc", root) for the full corpus's layout, ("sample", root) for NLTK's sample, else None."""
    root = corpus_root(raw)
    if root is not None:
        return "ldc", root
    root = sample_root(raw)
    return ("sample", root) if root is not None else None


def _audio_for(phn: Path) -> Path | None:
    stem = phn.name.split(".")[0].lower()
    candidates = [p for p in phn.parent.iterdir()
                  if p.name.lower() in (f"{stem}.wav", f"{stem}.wav.wav")]
    # Prefer the original SPHERE .WAV; a converted .WAV.wav holds the same samples.
    candidates.sort(key=lambda p: (p.name.lower().count("."), p.name))
    return candidates[0] if candidates else None


def _check_labelled(folder: Path) -> None:
    """Every audio file of a speaker folder has its .PHN (SA sentences included: a copy that
    lost its labels is incomplete, whichever sentences are used)."""
    names = {p.name.lower() for p in folder.iterdir() if p.is_file()}
    for p in sorted(folder.iterdir()):
        stem = p.name.split(".")[0].lower()
        if p.is_file() and p.name.lower().endswith(".wav") and f"{stem}.phn" not in names:
            raise DataError(f"{p}: audio without labels; expected {folder / (p.name.split('.')[0] + '.PHN')} "
                            "(TIMIT's phone segmentation) beside it")


def _speaker_utterances(folder: Path, split: str, dialect: str, speaker: str) -> list[Utterance]:
    """The non-SA utterances of one speaker folder, each .PHN with its audio."""
    _check_labelled(folder)
    utts = []
    for phn in sorted(folder.iterdir()):
        if phn.suffix.lower() != ".phn" or not phn.is_file():
            continue
        sentence = phn.name.split(".")[0].upper()
        if sentence.startswith("SA"):
            continue
        audio = _audio_for(phn)
        if audio is None:
            raise DataError(f"{phn}: no audio beside it; expected {phn.parent / (phn.name.split('.')[0] + '.WAV')}")
        utts.append(Utterance(split, dialect, speaker, sentence, audio, phn))
    return utts


def list_utterances(raw: Path, core_test: bool = True) -> dict[str, list[Utterance]]:
    """Every usable utterance per split, sorted (so datasets are reproducible)."""
    found = find_corpus(raw)
    if found is None:
        raise DataError(f"TIMIT: expected {TIMIT_LAYOUT} under {raw}; obtain it from {TIMIT_HOW_TO_GET}, "
                        "or use --source DIR / --synthetic")
    if found[0] == "sample":
        return list_sample(found[1])
    root = found[1]
    out: dict[str, list[Utterance]] = {}
    for split in ("train", "test"):
        utts = []
        for folder in sorted(p for p in _child(root, split).rglob("*") if p.is_dir()):
            speaker, dialect = folder.name.upper(), folder.parent.name.upper()
            if split == "test" and core_test and speaker not in CORE_TEST_SPEAKERS:
                continue
            utts.extend(_speaker_utterances(folder, split, dialect, speaker))
        if not utts:
            raise DataError(f"TIMIT: no usable utterances (.PHN with audio, SA dropped"
                            f"{', core test speakers only' if split == 'test' and core_test else ''}) "
                            f"under {_child(root, split)}; expected {TIMIT_LAYOUT}")
        out[split] = utts
    return out


def list_sample(root: Path) -> dict[str, list[Utterance]]:
    """NLTK's TIMIT sample: test = SAMPLE_TEST_SPEAKERS, train = every other speaker."""
    out: dict[str, list[Utterance]] = {"train": [], "test": []}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        m = _NLTK_SPEAKER.match(folder.name)
        if m is None:
            continue
        speaker = m.group(2).upper()
        split = "test" if speaker in SAMPLE_TEST_SPEAKERS else "train"
        out[split].extend(_speaker_utterances(folder, split, f"DR{m.group(1)}", speaker))
    for split, utts in out.items():
        if not utts:
            want = ("the test speakers " + ", ".join(sorted(SAMPLE_TEST_SPEAKERS)).lower()
                    if split == "test" else "speakers other than the test ones")
            raise DataError(f"TIMIT sample: no usable {split} utterances (.phn with audio, SA dropped) under "
                            f"{root}; expected {want} as drR-Xssss0/<sentence>.wav + .phn")
    return out


def speakers(utts: dict[str, list[Utterance]]) -> dict[str, list[str]]:
    """The speakers of each split, sorted."""
    return {split: sorted({u.speaker for u in items}) for split, items in utts.items()}


def corpus_digest(utts: list[Utterance], root: Path) -> str:
    """sha256 over every used file's relative path and bytes: the source checksum."""
    h = hashlib.sha256()
    for u in utts:
        for p in (u.audio, u.phn):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()
