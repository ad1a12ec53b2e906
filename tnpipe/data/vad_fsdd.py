"""The FSDD stand-in for VAD's speech: pseudo-utterances of one speaker's recordings joined
by silent gaps, so the speech / non-speech spans are known exactly (see tnpipe.data.vad)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tnpipe.data.phones import Segment
from tnpipe.data.sphere import Audio, read_audio
from tnpipe.errors import DataError

DIGITS_PER_UTTERANCE = 5
GAP_SECONDS = (0.2, 0.6)


@dataclass(frozen=True)
class DigitUtterance:
    """An FSDD pseudo-utterance: recordings of one speaker joined by silent gaps."""

    split: str
    speaker: str
    files: tuple[Path, ...]

    @property
    def uid(self) -> str:
        return f"{self.split}/{self.speaker}/{self.files[0].stem}"


def fsdd_utterances(rec: Path) -> dict[str, list[DigitUtterance]]:
    """FSDD recordings grouped per split and speaker, DIGITS_PER_UTTERANCE at a time."""
    from tnpipe.data.fsdd import TEST_INDICES, parse_name

    groups: dict[tuple[str, str], list[tuple[int, int, Path]]] = {}
    for p in sorted(rec.iterdir()):
        if p.suffix.lower() == ".wav":
            digit, speaker, index = parse_name(p)
            split = "test" if index in TEST_INDICES else "train"
            groups.setdefault((split, speaker), []).append((index, digit, p))
    out: dict[str, list[DigitUtterance]] = {"train": [], "test": []}
    for (split, speaker), items in sorted(groups.items()):
        files = [p for _, _, p in sorted(items)]
        for i in range(0, len(files), DIGITS_PER_UTTERANCE):
            out[split].append(DigitUtterance(split, speaker, tuple(files[i:i + DIGITS_PER_UTTERANCE])))
    for split, utts in out.items():
        if not utts:
            raise DataError(f"{rec}: no {split} recordings (index {'0-4' if split == 'test' else '5+'}); "
                            "expected FSDD's {digit}_{speaker}_{index}.wav")
    return out


def join_with_gaps(u: DigitUtterance, rate: int = 16000) -> tuple[Audio, list[Segment]]:
    """gap, rec, gap, rec, ..., gap at `rate`; gaps are 'h#' segments, recordings 'digit'."""
    import librosa

    rng = np.random.default_rng(zlib.crc32(u.uid.encode()))
    parts, segments, pos = [], [], 0

    def gap() -> None:
        nonlocal pos
        n = int(rng.uniform(*GAP_SECONDS) * rate)
        parts.append(np.zeros(n, np.float32))
        segments.append(Segment(pos, pos + n, "h#"))
        pos += n

    gap()
    for p in u.files:
        a = read_audio(p)
        x = a.samples if a.sample_rate == rate else librosa.resample(a.samples, orig_sr=a.sample_rate, target_sr=rate)
        if len(x) == 0:
            raise DataError(f"{p}: no samples; expected a spoken digit")
        parts.append(x.astype(np.float32))
        segments.append(Segment(pos, pos + len(x), "digit"))
        pos += len(x)
        gap()
    return Audio(np.concatenate(parts), rate), segments
