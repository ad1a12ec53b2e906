"""`vad`: voice activity detection, 2 classes, input (1, 16, 26) = 16 frames x 26 MFCC.

As in Eedn: TIMIT speech (from <raw-root>/timit; SA dropped, core test set as test; or
NLTK's TIMIT sample from <raw-root>/timit-sample, split as tnpipe.data.timit_corpus says)
mixed with noise at the SNRs in cfg.snr_db, then one example per sampled frame.

Noise, per utterance k of a split:
  * NOISEX-92 if `<raw.parent>/noisex/*.wav` or `<raw.parent>/noise/NoiseX-92/*.wav` exists
    (beside the speech folder under the raw root; any rate, resampled to cfg.sample_rate
    with librosa/soxr; SPHERE or RIFF, 8-bit unsigned RIFF included, as NOISEX ships): file
    k mod n_files. Each recording is split IN TIME between the splits: train mixes only
    its first 75%, test only its last 25% (NOISE_TRAIN_SHARE), so no test noise sample
    was heard in training. Within its part an utterance's noise starts at a seeded
    random offset and is looped (within the part) if the part is shorter than it.
    The Nonspeech/ sounds beside NoiseX-92/ are NOT used: the paper mixes NOISEX-92 only,
    and they have no stated provenance;
  * otherwise generated, deterministic (seeded by cfg.seed, split and k), kind k mod 3:
    white (Gaussian), pink (white shaped by 1/sqrt(f) in the frequency domain) or babble
    (the sum of 4 utterances of OTHER speakers of the same split, from a pool of the
    split's first utterance of up to 8 speakers, each from a random offset, looped).
  SNR = cfg.snr_db[k mod len(snr_db)] dB, relative to the mean power of the speech
  samples (segments other than h#, pau, epi): noise *= sqrt(P_speech / (P_noise 10^(SNR/10))).

Examples: every `frame_stride`-th frame t (default 4 = one every 40 ms), window frames
t-8..t+7 (edge-padded), label 1 = speech if the .PHN segment holding frame t's centre is
not h#, pau or epi (TIMIT's non-speech labels; closures are part of speech), else 0.
Frames outside every segment are skipped. Classes are then balanced per split by keeping
a seeded random subset of the majority class as large as the minority; the priors before
balancing are recorded in feature_params.

Offline stand-in (DESIGN.md: "speech from fsdd + generated noise"): when the folder given
(`--source DIR`) holds no TIMIT but FSDD's recordings/, the speech comes from FSDD instead.
Each pseudo-utterance strings 5 recordings of one speaker together with silent gaps of
0.2-0.6 s before, between and after them (lengths seeded by the first file's name), so the
speech / non-speech spans are known exactly (the recordings are speech, the gaps are not;
FSDD is already trimmed). Split: FSDD's own (index 0-4 test). Recorded in meta.json as
speech_source; it is real speech but NOT the paper's TIMIT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tnpipe.data import features
from tnpipe.data.config import DataCfg
from tnpipe.data.phones import NON_SPEECH_61
from tnpipe.data.sphere import read_audio
from tnpipe.data.timit import TimitSource, frame_segments
from tnpipe.data.timit_corpus import Utterance, find_corpus
from tnpipe.data.vad_fsdd import (
    DIGITS_PER_UTTERANCE,
    GAP_SECONDS,
    DigitUtterance,
    fsdd_utterances,
    join_with_gaps,
)
from tnpipe.errors import DataError

NOISE_TRAIN_SHARE = 0.75      # of each NOISEX recording, from its start: train; the rest: test
NOISE_FOLDERS = (("noisex",), ("noise", "NoiseX-92"))   # beside the speech folder, any case
BABBLE_POOL = 8
BABBLE_TALKERS = 4
GENERATED_KINDS = ("white", "pink", "babble")


def noise_folder(root: Path) -> Path | None:
    """The NOISEX-92 folder under the raw root (NOISE_FOLDERS, names in any case), None if none."""
    for parts in NOISE_FOLDERS:
        d: Path | None = Path(root)
        for name in parts:
            d = next((c for c in d.iterdir() if c.is_dir() and c.name.lower() == name.lower()), None) \
                if d is not None and d.is_dir() else None
        if d is not None:
            return d
    return None


def speech_mask(segments, n: int) -> np.ndarray:
    """Boolean per sample: inside a segment that is not h#, pau or epi."""
    mask = np.zeros(n, dtype=bool)
    for s in segments:
        if s.phone not in NON_SPEECH_61:
            mask[s.start:min(s.end, n)] = True
    return mask


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power falling as 1/f (amplitude 1/sqrt(f)), unit variance."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x / (x.std() + 1e-12)


def loop_to(x: np.ndarray, n: int, offset: int) -> np.ndarray:
    """n samples of x from `offset`, wrapping around."""
    return x[(offset + np.arange(n)) % len(x)]


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, mask: np.ndarray) -> np.ndarray:
    """speech + noise scaled so that P_speech / P_noise = 10^(snr/10) (P_speech over `mask`)."""
    active = speech[mask] if mask.any() else speech
    p_speech = float(np.mean(active.astype(np.float64) ** 2))
    p_noise = float(np.mean(noise.astype(np.float64) ** 2))
    if p_noise <= 0 or p_speech <= 0:
        return speech.astype(np.float32)
    gain = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return (speech + gain * noise).astype(np.float32)


class Vad(TimitSource):
    name = "vad"
    num_classes = 2
    defaults = {"n_mfcc": 26, "frames": 16, "deltas": "none", "frame_stride": 4}
    expected_layout = (TimitSource.expected_layout + " (or, as an offline stand-in for the speech, "
                       "FSDD's recordings/ through --source DIR)")

    def class_names(self) -> list[str]:
        return ["non-speech", "speech"]

    # --- speech: TIMIT, or the FSDD stand-in ---------------------------------------------

    def utterances(self, raw: Path, cfg: DataCfg) -> dict:
        self._fsdd = None
        if find_corpus(raw) is None:
            from tnpipe.data.fsdd import recordings_dir

            rec = recordings_dir(raw)
            if rec is not None:
                self._fsdd = rec
                return fsdd_utterances(rec)
        return super().utterances(raw, cfg)

    def load_raw(self, u):
        if isinstance(u, DigitUtterance):
            return join_with_gaps(u)
        return super().load_raw(u)

    def sources(self, raw: Path, utts: dict) -> dict[str, str]:
        if not getattr(self, "_fsdd", None):
            return super().sources(raw, utts)
        import hashlib

        h = hashlib.sha256()
        files = [p for v in utts.values() for u in v for p in u.files]
        for p in files:
            h.update(p.name.encode())
            h.update(p.read_bytes())
        return {"fsdd_recordings": f"{self._fsdd}: {len(files)} wav files as {sum(len(v) for v in utts.values())} "
                                   f"pseudo-utterances, sha256 {h.hexdigest()}"}

    # --- noise --------------------------------------------------------------------------

    def begin_split(self, split: str, items: list[Utterance], raw: Path, cfg: DataCfg) -> None:
        if not cfg.snr_db:
            raise DataError("[data].snr_db is empty; expected the mixing SNRs in dB, e.g. [-5, 0, 5, 10, 20]")
        self._split = split
        self._noisex = self._load_noisex(noise_folder(Path(raw).parent), cfg)
        self._pool: list[tuple[str, np.ndarray]] = []
        if not self._noisex:
            seen: set[str] = set()
            for u in items:
                if u.speaker not in seen and len(self._pool) < BABBLE_POOL:
                    seen.add(u.speaker)
                    audio, _ = self.load_raw(u)
                    self._pool.append((u.speaker, features.resample(audio.samples, audio.sample_rate, cfg)))
        self._priors = getattr(self, "_priors", {})

    def _load_noisex(self, folder: Path | None, cfg: DataCfg) -> list[tuple[str, np.ndarray]]:
        """This split's part of each NOISEX recording (time split: NOISE_TRAIN_SHARE), at cfg's rate."""
        if folder is None:
            return []
        out = []
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() == ".wav" and p.is_file():
                a = read_audio(p)
                if len(a.samples) < a.sample_rate // 2:
                    raise DataError(f"{p}: {len(a.samples)} samples at {a.sample_rate} Hz; expected at least "
                                    "0.5 s of NOISEX-92 noise (its last 25% is the test split's)")
                x = features.resample(a.samples, a.sample_rate, cfg)
                cut = int(len(x) * NOISE_TRAIN_SHARE)
                out.append((p.name, x[:cut] if self._split == "train" else x[cut:]))
        if not out:
            raise DataError(f"{folder}: no .wav files; expected NOISEX-92 noise recordings (or remove the folder "
                            "to use generated noise)")
        return out

    def noise_for(self, k: int, speaker: str, n: int, cfg: DataCfg) -> tuple[str, np.ndarray]:
        """(kind, n samples of noise) for the k-th utterance of the current split."""
        rng = np.random.default_rng([cfg.seed, 0 if self._split == "train" else 1, k])
        if self._noisex:
            name, x = self._noisex[k % len(self._noisex)]
            # a contiguous stretch where the part is long enough, else looped within the part
            return f"noisex:{name}", loop_to(x, n, int(rng.integers(max(1, len(x) - n + 1))))
        kind = GENERATED_KINDS[k % len(GENERATED_KINDS)]
        if kind == "white":
            return kind, rng.standard_normal(n)
        if kind == "pink":
            return kind, pink_noise(n, rng)
        others = [x for spk, x in self._pool if spk != speaker] or [x for _, x in self._pool]
        pick = rng.choice(len(others), size=min(BABBLE_TALKERS, len(others)), replace=False)
        return kind, sum(loop_to(others[i], n, int(rng.integers(len(others[i])))) for i in pick)

    # --- examples -----------------------------------------------------------------------

    def mixture(self, u: Utterance, cfg: DataCfg, k: int) -> tuple[np.ndarray, list, int, np.ndarray]:
        """(speech + noise at this utterance's SNR, its segments, its rate, the speech mask)."""
        audio, segments = self.load_raw(u)
        mask = speech_mask(segments, len(audio.samples))
        # Mix at the file's own rate, where the .PHN boundaries are exact; noise is made at
        # cfg.sample_rate, so bring it to the file's rate first when they differ.
        _, noise = self.noise_for(k, u.speaker, int(np.ceil(len(audio.samples) * cfg.sample_rate / audio.sample_rate)), cfg)
        if audio.sample_rate != cfg.sample_rate:
            import librosa

            noise = librosa.resample(noise.astype(np.float32), orig_sr=cfg.sample_rate, target_sr=audio.sample_rate)
        noise = noise[: len(audio.samples)]
        noise = np.pad(noise, (0, len(audio.samples) - len(noise)))
        snr = cfg.snr_db[k % len(cfg.snr_db)]
        return mix_at_snr(audio.samples, noise, snr, mask), segments, audio.sample_rate, mask

    def examples(self, u: Utterance, cfg: DataCfg, k: int) -> tuple[list[np.ndarray], list[int]]:
        mix, segments, rate, _ = self.mixture(u, cfg, k)
        feats = features.utterance_features(mix, rate, cfg)
        hop = features.geometry(cfg)["hop_length"]
        seg_of = frame_segments(segments, feats.shape[1], hop, cfg.sample_rate / rate)
        xs, ys = [], []
        for t in range(0, feats.shape[1], cfg.frame_stride):
            if seg_of[t] < 0:
                continue
            xs.append(features.window(feats, t, cfg.frames))
            ys.append(0 if segments[seg_of[t]].phone in NON_SPEECH_61 else 1)
        return xs, ys

    def end_split(self, split: str, x: np.ndarray, y: np.ndarray, cfg: DataCfg) -> tuple[np.ndarray, np.ndarray]:
        counts = np.bincount(y, minlength=2)
        self._priors[split] = {"non-speech": int(counts[0]), "speech": int(counts[1])}
        if counts.min() == 0:
            raise DataError(f"vad: the {split} split has {counts[0]} non-speech and {counts[1]} speech frames; "
                            "expected both (non-speech = .PHN segments h#, pau, epi)")
        keep_n = int(counts.min())
        rng = np.random.default_rng([cfg.seed, 2 if split == "train" else 3])
        keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), keep_n, replace=False) for c in (0, 1)]))
        return x[keep], y[keep]

    def extra_params(self, cfg: DataCfg) -> dict:
        noise = ("NOISEX-92: " + ", ".join(n for n, _ in self._noisex)) if self._noisex else \
            "generated (white, pink, babble of other speakers; seeded)"
        if getattr(self, "_fsdd", None):
            base = {"speech_source": f"FSDD stand-in: {DIGITS_PER_UTTERANCE} recordings per pseudo-utterance, "
                                     f"silent gaps {GAP_SECONDS[0]}-{GAP_SECONDS[1]} s; split: index 0-4 test"}
        else:
            base = {"speech_source": "TIMIT",
                    **{k: v for k, v in super().extra_params(cfg).items() if k != "phone_folding"}}
        if self._noisex:
            base["noise_split"] = (f"in time: train mixes the first {NOISE_TRAIN_SHARE:.0%} of each recording, "
                                   f"test the last {1 - NOISE_TRAIN_SHARE:.0%}")
        return {**base, "noise": noise, "snr_db": list(cfg.snr_db),
                "snr_rule": "utterance k of a split gets snr_db[k mod len]; power of speech samples only",
                "frame_stride": cfg.frame_stride,
                "label": "1 = speech (centre frame's .PHN segment not h#/pau/epi), 0 = non-speech",
                "class_counts_before_balancing": dict(self._priors),
                "balancing": "majority class subsampled (seeded) to the minority's count, per split"}

    def stand_in(self) -> str:
        """The paper's VAD set is TIMIT speech + NOISEX-92 noise; say what replaced either."""
        parts = (["FSDD digit speech instead of TIMIT"] if getattr(self, "_fsdd", None) else []) + \
                ([] if self._noisex else ["generated noise instead of NOISEX-92"])
        if self.sample_label():
            parts = [f"{super().stand_in()}; {len(self._noisex)} NOISEX-92 recordings" if self._noisex
                     else super().stand_in(), *parts]
        return "; ".join(parts)

    def notes(self, cfg: DataCfg) -> list[str]:
        stand_in = ["speech: FSDD digit recordings joined by silent gaps, an offline stand-in for TIMIT "
                    "(not the paper's data)"] if getattr(self, "_fsdd", None) else []
        return stand_in + [(f"noise: NOISEX-92 ({', '.join(n for n, _ in self._noisex)}), split in time "
                            "between train and test; the Nonspeech sounds are not used" if self._noisex else
                 "noise: generated (white, pink, babble) because no NOISEX-92 folder was found; "
                 "not the paper's noise")]
