"""TIMIT phones: the 61 labels of the .PHN files, folded to the 39 classes of Lee & Hon.

Source of the folding: K.-F. Lee and H.-W. Hon, "Speaker-independent phone recognition
using hidden Markov models", IEEE Trans. ASSP 37(11), 1989 (their Table 3), in the form
Kaldi uses it: egs/timit/s5/conf/phones.60-48-39.map (third column). As there:
  * closures (bcl dcl gcl pcl tcl kcl), the pauses (pau, h#) and the epenthetic
    silence (epi) all fold to "sil";
  * ao->aa, ax/ax-h->ah, axr->er, hv->hh, ix->ih, el->l, em->m, en/nx->n, eng->ng,
    zh->sh, ux->uw;
  * the glottal stop "q" has no class: its segments are deleted (Kaldi leaves it unmapped).
The other phones stay themselves. 61 labels in, 39 classes out.

This module also reads .PHN files: one segment per line, "<start> <end> <phone>", with
start and end in samples at 16 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tnpipe.errors import DataError

# The 61 TIMIT labels (TIMIT docs, phoncode.doc), each with its 39-class fold (None: deleted).
FOLD_61_TO_39: dict[str, str | None] = {
    "aa": "aa", "ae": "ae", "ah": "ah", "ao": "aa", "aw": "aw", "ax": "ah", "ax-h": "ah",
    "axr": "er", "ay": "ay", "b": "b", "bcl": "sil", "ch": "ch", "d": "d", "dcl": "sil",
    "dh": "dh", "dx": "dx", "eh": "eh", "el": "l", "em": "m", "en": "n", "eng": "ng",
    "epi": "sil", "er": "er", "ey": "ey", "f": "f", "g": "g", "gcl": "sil", "h#": "sil",
    "hh": "hh", "hv": "hh", "ih": "ih", "ix": "ih", "iy": "iy", "jh": "jh", "k": "k",
    "kcl": "sil", "l": "l", "m": "m", "n": "n", "ng": "ng", "nx": "n", "ow": "ow",
    "oy": "oy", "p": "p", "pau": "sil", "pcl": "sil", "q": None, "r": "r", "s": "s",
    "sh": "sh", "t": "t", "tcl": "sil", "th": "th", "uh": "uh", "uw": "uw", "ux": "uw",
    "v": "v", "w": "w", "y": "y", "z": "z", "zh": "sh",
}
PHONES_61: tuple[str, ...] = tuple(FOLD_61_TO_39)

# The 39 classes in a fixed order (sorted, so class indices never depend on dict order).
CLASSES_39: tuple[str, ...] = tuple(sorted({c for c in FOLD_61_TO_39.values() if c is not None}))
CLASS_INDEX: dict[str, int] = {c: i for i, c in enumerate(CLASSES_39)}

# Labels TIMIT uses for the absence of speech (begin/end marker, pause, epenthetic silence).
# Closures are NOT among them: they are silent parts of stop consonants inside speech.
NON_SPEECH_61: frozenset[str] = frozenset({"h#", "pau", "epi"})


def fold(phone: str) -> int | None:
    """61-label phone -> 39-class index, or None for 'q' (deleted). KeyError if unknown."""
    folded = FOLD_61_TO_39[phone]
    return None if folded is None else CLASS_INDEX[folded]


@dataclass(frozen=True)
class Segment:
    start: int        # first sample
    end: int          # one past the last sample
    phone: str        # one of the 61 labels


def parse_phn(text: str, path: Path) -> list[Segment]:
    """The segments of a .PHN file; a malformed line raises DataError naming file and line."""
    segments = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3:
            raise DataError(f"{path}: line {n} {line.strip()!r}; expected '<start> <end> <phone>'")
        try:
            start, end = int(parts[0]), int(parts[1])
        except ValueError:
            raise DataError(f"{path}: line {n} {line.strip()!r}; start and end must be integers (samples)") from None
        phone = parts[2].lower()
        if phone not in FOLD_61_TO_39:
            raise DataError(f"{path}: line {n}: unknown phone {parts[2]!r}; expected one of the 61 TIMIT labels")
        if end <= start or start < 0:
            raise DataError(f"{path}: line {n} {line.strip()!r}; expected 0 <= start < end")
        segments.append(Segment(start, end, phone))
    if not segments:
        raise DataError(f"{path}: no phone segments; expected lines '<start> <end> <phone>'")
    return segments


def read_phn(path: Path) -> list[Segment]:
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not ASCII text; expected a TIMIT .PHN transcription") from None
    return parse_phn(text, path)
