"""Speech features with librosa: MFCC, deltas, windows of frames, train-only standardisation.

For one utterance y (mono, resampled to cfg.sample_rate = sr):

    win = round(win_ms * sr / 1000)  samples per analysis window   (25 ms -> 400)
    hop = round(hop_ms * sr / 1000)  samples between frames        (10 ms -> 160)
    n_fft = smallest power of two >= win                            (512)
    M = librosa.feature.mfcc(y, sr, n_mfcc, n_fft, hop, win, window, n_mels, center=True)
        -> (n_mfcc, T); frame t is centred on sample t * hop (librosa pads the ends)
    D1 = librosa.feature.delta(M, width=delta_width, order=1), D2 = ... order=2

Layouts (cfg.deltas), as (C, T, F) = (channels, frames, coefficients):
    "none"      (1, T, n)       M
    "channels"  (3, T, n)       M, D1, D2 as three input channels
    "concat"    (1, T, 3n)      [M | D1 | D2] side by side on the coefficient axis

Standardisation: for each (channel, coefficient) c, mu_c and sigma_c are the mean and
standard deviation over every frame of every TRAIN example; both splits become
(x - mu_c) / max(sigma_c, 1e-5), and mu, sigma are recorded in the feature parameters so
the same transform can be applied to new audio. The test split never influences them.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from tnpipe.data.config import DataCfg
from tnpipe.errors import DataError

DELTA_LAYOUTS = ("none", "channels", "concat")
STD_FLOOR = 1e-5


def _check(cfg: DataCfg) -> None:
    for key in ("n_mfcc", "frames", "deltas"):
        if getattr(cfg, key) is None:
            raise ValueError(f"DataCfg.{key} is unset; fill it from the dataset's default_cfg() first")
    for key in ("n_mfcc", "frames"):
        if getattr(cfg, key) < 1:
            raise DataError(f"[data].{key} = {getattr(cfg, key)}; expected an integer >= 1")
    if cfg.n_mfcc > cfg.n_mels:
        raise DataError(f"[data].n_mfcc = {cfg.n_mfcc} exceeds n_mels = {cfg.n_mels}; expected n_mfcc <= n_mels")
    if cfg.deltas not in DELTA_LAYOUTS:
        raise DataError(f"[data].deltas = {cfg.deltas!r}; expected one of {', '.join(DELTA_LAYOUTS)}")
    if cfg.delta_width < 3 or cfg.delta_width % 2 == 0:
        raise DataError(f"[data].delta_width = {cfg.delta_width}; expected an odd number >= 3")


def geometry(cfg: DataCfg) -> dict[str, int]:
    """Window, hop and FFT sizes in samples at cfg.sample_rate."""
    win = int(round(cfg.win_ms * cfg.sample_rate / 1000))
    hop = int(round(cfg.hop_ms * cfg.sample_rate / 1000))
    if win < 16 or hop < 1:
        raise DataError(f"[data] win_ms={cfg.win_ms}, hop_ms={cfg.hop_ms} give {win}/{hop} samples; too small")
    n_fft = 1 << (win - 1).bit_length()
    return {"win_length": win, "hop_length": hop, "n_fft": n_fft}


def input_shape(cfg: DataCfg) -> tuple[int, int, int]:
    """(C, H, W) = (channels, frames, coefficients) of one network input."""
    _check(cfg)
    channels = 3 if cfg.deltas == "channels" else 1
    width = cfg.n_mfcc * (3 if cfg.deltas == "concat" else 1)
    return channels, cfg.frames, width


def feature_params(cfg: DataCfg) -> dict[str, Any]:
    """Every parameter that shaped the features (recorded in meta.json)."""
    g = geometry(cfg)
    return {
        "library": "librosa", "sample_rate": cfg.sample_rate, "n_mfcc": cfg.n_mfcc, "n_mels": cfg.n_mels,
        "win_ms": cfg.win_ms, "hop_ms": cfg.hop_ms, "window": cfg.window, **g, "center": True,
        "mfcc_dct_type": 2, "mfcc_norm": "ortho", "power_to_db_top_db": 80.0,
        "deltas": cfg.deltas, "delta_width": cfg.delta_width, "frames": cfg.frames,
        "layout": "(N, C, T, F) = (examples, channels, frames, coefficients)",
        "input_shape": list(input_shape(cfg)),
    }


def resample(samples: np.ndarray, rate: int, cfg: DataCfg) -> np.ndarray:
    """Samples at cfg.sample_rate (librosa.resample, soxr_hq) if they are at another rate."""
    if rate == cfg.sample_rate:
        return samples.astype(np.float32, copy=False)
    import librosa

    return librosa.resample(samples.astype(np.float32), orig_sr=rate, target_sr=cfg.sample_rate)


@functools.lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


def mfcc(samples: np.ndarray, cfg: DataCfg) -> np.ndarray:
    """(n_mfcc, T) static MFCCs of samples already at cfg.sample_rate.

    The steps of librosa.feature.mfcc(y=...) (power STFT -> mel filter bank -> power_to_db
    -> DCT-II), with the filter bank cached and applied as one matrix product: librosa's
    own einsum(optimize=True) re-plans on every call, which dominated short utterances."""
    import librosa

    g = geometry(cfg)
    stft = librosa.stft(samples.astype(np.float32), n_fft=g["n_fft"], hop_length=g["hop_length"],
                        win_length=g["win_length"], window=cfg.window, center=True, pad_mode="constant")
    mel = _mel_basis(cfg.sample_rate, g["n_fft"], cfg.n_mels) @ (np.abs(stft) ** 2)
    return librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=cfg.n_mfcc)


def deltas(static: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """First and second librosa deltas along time. Utterances shorter than `width` frames
    are edge-padded to `width` for the computation (librosa needs width <= T), then cut back."""
    import librosa

    t = static.shape[1]
    padded = static if t >= width else np.pad(static, ((0, 0), (0, width - t)), mode="edge")
    d1 = librosa.feature.delta(padded, width=width, order=1)[:, :t]
    d2 = librosa.feature.delta(padded, width=width, order=2)[:, :t]
    return d1, d2


def utterance_features(samples: np.ndarray, rate: int, cfg: DataCfg) -> np.ndarray:
    """One utterance -> float32 (C, T, F) in the layout cfg.deltas names (module docstring)."""
    _check(cfg)
    y = resample(samples, rate, cfg)
    static = mfcc(y, cfg)
    if cfg.deltas == "none":
        return static.T[None].astype(np.float32)
    d1, d2 = deltas(static, cfg.delta_width)
    if cfg.deltas == "channels":
        return np.stack([static.T, d1.T, d2.T]).astype(np.float32)
    return np.concatenate([static.T, d1.T, d2.T], axis=1)[None].astype(np.float32)


def frame_of_sample(sample: float, cfg: DataCfg) -> int:
    """The frame whose centre (t * hop) is nearest to a sample index at cfg.sample_rate."""
    return int(round(sample / geometry(cfg)["hop_length"]))


def window(feats: np.ndarray, centre: int, frames: int) -> np.ndarray:
    """(C, T, F) -> (C, frames, F): frames centre - frames//2 .. centre + frames - frames//2 - 1.

    Frames outside the utterance repeat its first or last frame (edge padding)."""
    idx = np.clip(np.arange(frames) + centre - frames // 2, 0, feats.shape[1] - 1)
    return feats[:, idx, :]


def standardize(x: dict[str, np.ndarray], enabled: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per-(channel, coefficient) standardisation with TRAIN statistics; float16 out.

    x: split -> float32 (N, C, T, F). Returns the float16 arrays and {"mean", "std"} as
    nested lists of shape (C, F) (empty when disabled)."""
    if not enabled:
        return {s: a.astype(np.float16) for s, a in x.items()}, {"standardize": False}
    train = x["train"]
    if len(train) == 0:
        raise DataError("speech features: the train split is empty; nothing to standardise with")
    mean = train.mean(axis=(0, 2), dtype=np.float64)            # (C, F)
    std = np.maximum(train.std(axis=(0, 2), dtype=np.float64), STD_FLOOR)
    mu = mean[None, :, None, :].astype(np.float32)
    sd = std[None, :, None, :].astype(np.float32)
    out = {}
    for s, a in x.items():
        # in chunks, so a large split (real TIMIT) never needs a second float32 copy
        out[s] = np.empty(a.shape, dtype=np.float16)
        for i in range(0, len(a), 8192):
            out[s][i:i + 8192] = (a[i:i + 8192] - mu) / sd
    stats = {"standardize": True, "standardize_stats_from": "train",
             "mean": np.round(mean, 6).tolist(), "std": np.round(std, 6).tolist()}
    return out, stats
