"""[data] section of a recipe: which dataset and how its features are made.

Values here are written into the prepared dataset's meta.json, so a trained network
always knows the exact features it was trained on.

Speech keys whose default is None mean "this dataset's own default": each speech
dataset fills them from its `default_cfg()` (e.g. vad: 26 MFCC x 16 frames, no deltas),
so a recipe that omits them, or `tnpipe prepare` without any recipe, still gives the
network input the paper describes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class DataCfg:
    name: str                                   # dataset registry name, e.g. "cifar10"
    # --- images ---
    image_size: int = 32                        # network input is image_size x image_size x 3
    roi_crop: bool = True                       # GTSRB / logo32: crop the annotated box before resizing
    # --- speech (librosa) ---
    sample_rate: int = 16000                    # Hz; other rates are resampled (Eedn used 16 kHz)
    n_mfcc: int | None = None                   # MFCC coefficients per frame (None: the dataset's default)
    n_mels: int = 40                            # mel filter-bank size
    win_ms: float = 25.0                        # analysis window length
    hop_ms: float = 10.0                        # frame hop
    window: str = "hamming"
    frames: int | None = None                   # frames per network input (time axis; None: dataset default)
    deltas: str | None = None                   # "none"; "channels": static, delta, delta2 as 3 channels;
                                                # "concat": the three side by side on the coefficient axis
                                                # (None: the dataset's default)
    delta_width: int = 9                        # librosa.feature.delta window (frames, odd, >= 3)
    standardize: bool = True                    # per-coefficient mean/std from TRAIN, applied to both splits
    frame_stride: int | None = None             # timit_frames / vad: keep every k-th frame as a sample
                                                # (consecutive frames are near duplicates; None: dataset default)
    core_test: bool = True                      # TIMIT test split = the 24-speaker core test set
                                                # (False: the whole 168-speaker test set)
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 20.0])  # VAD mixing SNRs
    seed: int = 0                               # data-side randomness (VAD noise, balancing, synthetic)
    # --- synthetic stand-ins ---
    synthetic_train_per_class: int = 40
    synthetic_test_per_class: int = 10

    def filled(self, defaults: DataCfg) -> DataCfg:
        """A copy whose None fields take the value `defaults` gives them."""
        changes = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(self)
                   if getattr(self, f.name) is None}
        return dataclasses.replace(self, **changes)
