"""TIMIT phone benchmarks: `timit_class` (phones with known boundaries) and `timit_frames`.

Both read TIMIT from <raw-root>/timit (tnpipe.data.timit_corpus: SA sentences dropped,
core test set as the test split), or NLTK's 16-speaker TIMIT sample from
<raw-root>/timit-sample when there is no timit/ (4 fixed test speakers; the prepared set
then says so in stand_in, and the report labels its rows "real (TIMIT sample, N speakers)"),
fold the 61 phones to 39 classes (tnpipe.data.phones), and make librosa MFCC features
(tnpipe.data.features).

Audio must be at 16 kHz (TIMIT's rate, which the .PHN sample indices count): a file at
another rate is refused, not resampled, since its .PHN could not be trusted to match it.
A .PHN may end at most 10 ms (160 samples) past its audio (the real sample's dr1-fvmh0/sa1
ends 1 sample past); further is an error naming both files.

timit_class, input (3, 32, 16): one example per phone segment (q segments deleted).
    16 MFCC with delta and delta2 as 3 channels; the 32-frame window is centred on the
    frame nearest the segment's middle sample ((start + end) / 2), so it holds the phone
    and its context on both sides; frames beyond the utterance's ends repeat its first or
    last frame (edge padding). Label = the segment's folded class.

timit_frames, input (1, 16, 39): one example per sampled frame t (no boundaries known).
    13 MFCC + delta + delta2 concatenated = 39 coefficients; a 16-frame window with frame
    t at index 8 (frames t-8 .. t+7, edge-padded). Label = the folded phone whose segment
    contains frame t's centre sample (t * hop); frames inside a q segment or outside every
    segment are skipped. Frames are sampled every `frame_stride` frames (default 8 = one
    every 80 ms) starting at frame 0: neighbouring frames are near-duplicates, and all of
    them would make the real train split ~1.1 M windows (~1.4 GB as float16).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tnpipe.artifacts.prepared import PreparedDataset
from tnpipe.data import features
from tnpipe.data.base import DatasetSource
from tnpipe.data.config import DataCfg
from tnpipe.data.phones import CLASSES_39, Segment, fold, read_phn
from tnpipe.data.sphere import Audio, read_audio
from tnpipe.data.timit_corpus import (
    FULL_TIMIT_SPEAKERS,
    SAMPLE_FOLDER,
    SAMPLE_TEST_SPEAKERS,
    TIMIT_HOW_TO_GET,
    TIMIT_LAYOUT,
    TIMIT_RATE,
    Utterance,
    corpus_digest,
    find_corpus,
    list_utterances,
    speakers,
)
from tnpipe.errors import DataError


class TimitSource(DatasetSource):
    """What the three TIMIT-based benchmarks share: corpus listing, features, the stand-in."""

    kind = "speech"
    raw_folder = "timit"
    raw_folders_else = (SAMPLE_FOLDER,)
    how_to_get = TIMIT_HOW_TO_GET
    expected_layout = TIMIT_LAYOUT
    defaults: dict = {}

    def default_cfg(self) -> DataCfg:
        return DataCfg(name=self.name, **self.defaults)

    def resolve(self, cfg: DataCfg) -> DataCfg:
        """cfg with every unset (None) speech key taken from this dataset's defaults."""
        return cfg.filled(self.default_cfg())

    def input_shape(self, cfg: DataCfg) -> tuple[int, int, int]:
        return features.input_shape(self.resolve(cfg))

    def write_synthetic(self, raw: Path, cfg: DataCfg) -> None:
        from tnpipe.data.synthetic_speech import write_synthetic_timit

        write_synthetic_timit(raw, cfg.synthetic_train_per_class, cfg.synthetic_test_per_class, cfg.seed)

    # --- reading -------------------------------------------------------------------------

    def utterances(self, raw: Path, cfg: DataCfg) -> dict[str, list[Utterance]]:
        self._sample: dict[str, list[str]] | None = None
        found = find_corpus(raw)
        if found is None:
            raise self.missing(raw)
        utts = list_utterances(raw, cfg.core_test)
        if found[0] == "sample":
            self._sample = speakers(utts)
        return utts

    def load_raw(self, u: Utterance) -> tuple[Audio, list[Segment]]:
        """The utterance's audio and its .PHN segments, checked against each other."""
        audio = read_audio(u.audio)
        if audio.sample_rate != TIMIT_RATE:
            raise DataError(f"{u.audio}: {audio.sample_rate} Hz; expected {TIMIT_RATE} Hz, the rate "
                            f"{u.phn.name}'s sample indices count (not resampled: the labels would not match)")
        segments = read_phn(u.phn)
        end = max(s.end for s in segments)
        if end > len(audio.samples) + audio.sample_rate // 100:
            raise DataError(f"{u.phn}: a segment ends at sample {end}, but {u.audio} holds "
                            f"{len(audio.samples)} samples; expected every range within the audio "
                            f"(at most {audio.sample_rate // 100} samples over)")
        return audio, segments

    def load(self, u: Utterance, cfg: DataCfg) -> tuple[np.ndarray, list[Segment], float]:
        """(features (C, T, F), segments, scale): scale converts .PHN sample indices (at the
        file's own rate) to samples at cfg.sample_rate."""
        audio, segments = self.load_raw(u)
        scale = cfg.sample_rate / audio.sample_rate
        return features.utterance_features(audio.samples, audio.sample_rate, cfg), segments, scale

    def begin_split(self, split: str, items: list[Utterance], raw: Path, cfg: DataCfg) -> None:
        """Hook before a split's utterances are read (vad sets up its noise here)."""

    def examples(self, u: Utterance, cfg: DataCfg, k: int) -> tuple[list[np.ndarray], list[int]]:
        """The (C, frames, F) examples and labels of the k-th utterance of a split."""
        raise NotImplementedError

    def end_split(self, split: str, x: np.ndarray, y: np.ndarray, cfg: DataCfg) -> tuple[np.ndarray, np.ndarray]:
        """Hook after a split is read (vad balances its classes here)."""
        return x, y

    def read(self, raw: Path, cfg: DataCfg) -> PreparedDataset:
        from tnpipe.log import progress

        cfg = self.resolve(cfg)
        if cfg.frame_stride is not None and cfg.frame_stride < 1:
            raise DataError(f"[data].frame_stride = {cfg.frame_stride}; expected an integer >= 1")
        utts = self.utterances(raw, cfg)
        x: dict[str, np.ndarray] = {}
        y: dict[str, np.ndarray] = {}
        shape = features.input_shape(cfg)
        with progress() as bar:
            for split, items in utts.items():
                task = bar.add_task(f"{self.name} {split}", total=len(items))
                self.begin_split(split, items, raw, cfg)
                xs, ys = [], []
                for k, u in enumerate(items):
                    ex, lab = self.examples(u, cfg, k)
                    xs.extend(ex)
                    ys.extend(lab)
                    bar.advance(task)
                x[split] = np.stack(xs) if xs else np.zeros((0, *shape), np.float32)
                y[split] = np.asarray(ys, dtype=np.int64)
                x[split], y[split] = self.end_split(split, x[split], y[split], cfg)
        x16, stats = features.standardize(x, cfg.standardize)
        return PreparedDataset(
            name=self.name, kind=self.kind, input_shape=shape, num_classes=self.num_classes,
            class_names=self.class_names(), x=x16, y=y,
            feature_params={**features.feature_params(cfg), **self.extra_params(cfg), **stats},
            sources=self.sources(raw, utts), notes=self.notes(cfg), stand_in=self.stand_in(),
        )

    def sources(self, raw: Path, utts: dict[str, list[Utterance]]) -> dict[str, str]:
        """The corpus that was read, with a sha256 over every file used."""
        root = find_corpus(raw)[1]
        return {"timit_corpus": f"{root}: {sum(len(v) for v in utts.values())} utterances "
                                f"(train {len(utts['train'])}, test {len(utts['test'])}), sha256 "
                                + corpus_digest([u for v in utts.values() for u in v], root)}

    def class_names(self) -> list[str]:
        return list(CLASSES_39)

    def extra_params(self, cfg: DataCfg) -> dict:
        if getattr(self, "_sample", None) is not None:
            split = (f"TIMIT sample (NLTK), speaker-disjoint: test {', '.join(self._sample['test'])} "
                     f"(dialect regions 3 and 7, fixed), train the other {len(self._sample['train'])}")
        else:
            split = "core test set (24 speakers)" if cfg.core_test else "full test set (168 speakers)"
        return {"phone_folding": "61 -> 39, Lee & Hon 1989 (Kaldi phones.60-48-39.map); q deleted",
                "sa_sentences": "dropped", "test_split": split}

    def sample_label(self) -> str:
        """'real (TIMIT sample, N speakers)' when the sample was read, else ''."""
        if getattr(self, "_sample", None) is None:
            return ""
        return f"real (TIMIT sample, {sum(len(v) for v in self._sample.values())} speakers)"

    def stand_in(self) -> str:
        """What in this data replaces the paper's ("" = the paper's own corpus). The sample
        starts with its report label (tnpipe.report.collect reads the part before ': ')."""
        if not self.sample_label():
            return ""
        return (f"{self.sample_label()}: NLTK's TIMIT sample instead of the full corpus "
                f"({FULL_TIMIT_SPEAKERS} speakers); test speakers {', '.join(sorted(SAMPLE_TEST_SPEAKERS))}")

    def notes(self, cfg: DataCfg) -> list[str]:
        return []


def frame_segments(segments: list[Segment], n_frames: int, hop_out: int, scale: float) -> np.ndarray:
    """For each frame t, the index of the segment holding its centre sample, -1 if none.

    Frame t is centred on sample t * hop_out at the feature rate, i.e. t * hop_out / scale
    in the .PHN's own sample units."""
    starts = np.array([s.start for s in segments], dtype=np.float64)
    ends = np.array([s.end for s in segments], dtype=np.float64)
    centres = np.arange(n_frames) * hop_out / scale
    idx = np.searchsorted(starts, centres, side="right") - 1
    ok = (idx >= 0) & (centres < ends[np.clip(idx, 0, None)])
    return np.where(ok, idx, -1)


class TimitClass(TimitSource):
    name = "timit_class"
    num_classes = 39
    defaults = {"n_mfcc": 16, "frames": 32, "deltas": "channels"}

    def examples(self, u: Utterance, cfg: DataCfg, k: int) -> tuple[list[np.ndarray], list[int]]:
        feats, segments, scale = self.load(u, cfg)
        xs, ys = [], []
        for seg in segments:
            label = fold(seg.phone)
            if label is None:          # q: deleted
                continue
            centre = features.frame_of_sample((seg.start + seg.end) / 2 * scale, cfg)
            xs.append(features.window(feats, centre, cfg.frames))
            ys.append(label)
        return xs, ys

    def extra_params(self, cfg: DataCfg) -> dict:
        return {**super().extra_params(cfg),
                "example": "one per phone segment; window centred on the frame nearest the segment's "
                           "middle sample, edge-padded at utterance ends"}


class TimitFrames(TimitSource):
    name = "timit_frames"
    num_classes = 39
    defaults = {"n_mfcc": 13, "frames": 16, "deltas": "concat", "frame_stride": 8}

    def examples(self, u: Utterance, cfg: DataCfg, k: int) -> tuple[list[np.ndarray], list[int]]:
        feats, segments, scale = self.load(u, cfg)
        hop = features.geometry(cfg)["hop_length"]
        seg_of = frame_segments(segments, feats.shape[1], hop, scale)
        xs, ys = [], []
        for t in range(0, feats.shape[1], cfg.frame_stride):
            if seg_of[t] < 0:
                continue
            label = fold(segments[seg_of[t]].phone)
            if label is None:
                continue
            xs.append(features.window(feats, t, cfg.frames))
            ys.append(label)
        return xs, ys

    def extra_params(self, cfg: DataCfg) -> dict:
        return {**super().extra_params(cfg), "frame_stride": cfg.frame_stride,
                "example": f"every {cfg.frame_stride}th frame t from 0; window frames t-{cfg.frames // 2}.."
                           f"t+{cfg.frames - cfg.frames // 2 - 1} (edge-padded); label = phone at frame t's centre"}
