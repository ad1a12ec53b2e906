"""[data] section of a recipe: which dataset and how its features are made.

Values here are written into the prepared dataset's meta.json, so a trained network
always knows the exact features it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DataCfg:
    name: str                                   # dataset registry name, e.g. "cifar10"
    # --- images ---
    image_size: int = 32                        # network input is image_size x image_size x 3
    roi_crop: bool = True                       # GTSRB / logo32: crop the annotated box before resizing
    # --- speech (librosa) ---
    sample_rate: int = 16000                    # Hz; other rates are resampled (Eedn used 16 kHz)
    n_mfcc: int = 16                            # MFCC coefficients per frame
    n_mels: int = 40                            # mel filter-bank size
    win_ms: float = 25.0                        # analysis window length
    hop_ms: float = 10.0                        # frame hop
    window: str = "hamming"
    frames: int = 32                            # frames per network input (time axis)
    deltas: str = "none"                        # "none"; "channels": static, delta, delta2 as 3 channels;
                                                # "concat": the three side by side on the coefficient axis
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 20.0])  # VAD mixing SNRs
    # --- synthetic stand-ins ---
    synthetic_train_per_class: int = 40
    synthetic_test_per_class: int = 10
