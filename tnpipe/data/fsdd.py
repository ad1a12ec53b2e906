"""`fsdd` (the open extra): Free Spoken Digit Dataset, 10 classes, input (3, 32, 16).

Official layout: recordings/{digit}_{speaker}_{index}.wav (RIFF, 16-bit PCM, mono, 8 kHz),
at <raw-root>/fsdd/recordings, or one folder down (the GitHub archive extracts to
free-spoken-digit-dataset-1.0.10/recordings). Licence CC BY-SA 4.0 (Zohar Jackson et al.).

The set's own split (its README): index 0-4 = test, 5-49 = train; with all 3,000
recordings that is 2,700 / 300, 270 / 30 per digit. Label = the digit in the file name.

Features as timit_class: 16 MFCC + delta + delta2 as 3 channels, at 16 kHz (the 8 kHz
audio is resampled with librosa). One digit utterance -> 32 frames: the resampled
waveform is first zero-padded equally on both sides to (frames - 1) * hop samples when
shorter (so silence, not repeated frames, fills the gap; FSDD is already trimmed), then
the 32 frames centred on the utterance's middle frame are kept (a centre crop for longer
utterances: 32 frames = 0.32 s, the mean recording is 0.44 s).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from tnpipe.artifacts.prepared import PreparedDataset
from tnpipe.data import features
from tnpipe.data.base import DatasetSource, Resource
from tnpipe.data.config import DataCfg
from tnpipe.data.sphere import read_audio
from tnpipe.errors import DataError

NAME_RE = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
TEST_INDICES = range(0, 5)


def recordings_dir(raw: Path) -> Path | None:
    """raw/recordings, or <child>/recordings one level down (the extracted archive)."""
    raw = Path(raw)
    if (raw / "recordings").is_dir():
        return raw / "recordings"
    if raw.is_dir():
        for child in sorted(raw.iterdir()):
            if (child / "recordings").is_dir():
                return child / "recordings"
    return None


def parse_name(path: Path) -> tuple[int, str, int]:
    """'7_theo_12.wav' -> (7, 'theo', 12); DataError naming the file otherwise."""
    m = NAME_RE.match(path.name)
    if not m:
        raise DataError(f"{path}: file name does not match {{digit}}_{{speaker}}_{{index}}.wav")
    return int(m.group(1)), m.group(2), int(m.group(3))


class Fsdd(DatasetSource):
    name = "fsdd"
    kind = "speech"
    num_classes = 10
    raw_folder = "fsdd"
    # GitHub's tag archive; the project publishes no checksum for it, so none is checked
    # (sha256=None): the prepared meta.json records the sha256 of the recordings instead.
    resources = (Resource(
        url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.zip",
        filename="free-spoken-digit-dataset-1.0.10.zip", md5=None, sha256=None, extract=True,
        strip_components=1),)                   # drop the archive's free-spoken-digit-dataset-1.0.10/
    how_to_get = "https://github.com/Jakobovski/free-spoken-digit-dataset (CC BY-SA 4.0)"
    expected_layout = "recordings/{digit}_{speaker}_{index}.wav"

    def default_cfg(self) -> DataCfg:
        return DataCfg(name=self.name, n_mfcc=16, frames=32, deltas="channels")

    def resolve(self, cfg: DataCfg) -> DataCfg:
        return cfg.filled(self.default_cfg())

    def input_shape(self, cfg: DataCfg) -> tuple[int, int, int]:
        return features.input_shape(self.resolve(cfg))

    def write_synthetic(self, raw: Path, cfg: DataCfg) -> None:
        from tnpipe.data.synthetic_speech import write_synthetic_fsdd

        write_synthetic_fsdd(raw, cfg.synthetic_train_per_class, cfg.synthetic_test_per_class, cfg.seed)

    def utterance(self, samples: np.ndarray, rate: int, cfg: DataCfg) -> np.ndarray:
        """One recording -> (C, frames, F): zero-pad to the window, then centre-crop."""
        y = features.resample(samples, rate, cfg)
        need = (cfg.frames - 1) * features.geometry(cfg)["hop_length"]
        if len(y) < need:
            left = (need - len(y)) // 2
            y = np.pad(y, (left, need - len(y) - left))
        feats = features.utterance_features(y, cfg.sample_rate, cfg)
        return features.window(feats, feats.shape[1] // 2, cfg.frames)

    def read(self, raw: Path, cfg: DataCfg) -> PreparedDataset:
        from tnpipe.log import progress

        cfg = self.resolve(cfg)
        rec = recordings_dir(raw)
        if rec is None:
            raise self.missing(raw)
        files = sorted(p for p in rec.iterdir() if p.suffix.lower() == ".wav")
        if not files:
            raise self.missing(raw, f"{self.expected_layout} (the folder {rec} holds no .wav)")
        xs: dict[str, list] = {"train": [], "test": []}
        ys: dict[str, list] = {"train": [], "test": []}
        digest = hashlib.sha256()
        with progress() as bar:
            task = bar.add_task("fsdd", total=len(files))
            for p in files:
                digit, _speaker, index = parse_name(p)
                split = "test" if index in TEST_INDICES else "train"
                audio = read_audio(p)
                if len(audio.samples) == 0:
                    raise DataError(f"{p}: no samples; expected a spoken digit")
                xs[split].append(self.utterance(audio.samples, audio.sample_rate, cfg))
                ys[split].append(digit)
                digest.update(p.name.encode())
                digest.update(p.read_bytes())
                bar.advance(task)
        shape = features.input_shape(cfg)
        x = {s: np.stack(v).astype(np.float32) if v else np.zeros((0, *shape), np.float32) for s, v in xs.items()}
        if len(x["train"]) == 0 or len(x["test"]) == 0:
            raise DataError(f"{rec}: {len(x['train'])} train / {len(x['test'])} test recordings; "
                            "expected both (index 0-4 = test, 5+ = train)")
        x16, stats = features.standardize(x, cfg.standardize)
        return PreparedDataset(
            name=self.name, kind=self.kind, input_shape=shape, num_classes=10,
            class_names=[str(d) for d in range(10)], x=x16,
            y={s: np.asarray(v, dtype=np.int64) for s, v in ys.items()},
            feature_params={**features.feature_params(cfg), **stats,
                            "split": "the set's own: index 0-4 test, 5+ train",
                            "example": "whole recording; waveform zero-padded to (frames-1)*hop samples if shorter, "
                                       "then the frames centred on the middle frame"},
            sources={"fsdd_recordings": f"{rec}: {len(files)} wav files, sha256 {digest.hexdigest()}"},
            notes=["FSDD (CC BY-SA 4.0) is an open extra, not one of the paper's benchmarks"],
        )
