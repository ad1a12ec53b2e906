"""Throughput of `tnpipe prepare` on the real data in ../shared/data.

    python benchmarks/prepare.py [--shared DIR] [--only cifar10-images,gtsrb,...]

Lines (each a full prepare: read the official layout, decode, save the artifact):
    cifar10-images   all 60,000 JPEGs in class folders     -> images/s
    cifar10-pickles  the 10k/2k subset in python pickles    -> images/s
    gtsrb            the 7,740/2,580 subset, ppm + ROI crop -> images/s
    fsdd             all 3,000 recordings (8 kHz -> 16 kHz, MFCC + deltas) -> audio-seconds/s
                     (skipped with a message if tnpipe.data.fsdd is not there)
Prepared output goes to a temporary folder that is deleted afterwards. Prints a
markdown table to paste into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _audio_seconds(recordings: Path) -> float:
    import soundfile

    return sum(soundfile.info(str(p)).duration for p in recordings.glob("*.wav"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--only", default="cifar10-images,cifar10-pickles,gtsrb,fsdd")
    args = ap.parse_args()

    from tnpipe.prepare import prepare

    cases = {
        "cifar10-images": ("cifar10", args.shared / "cifar10-images"),
        "cifar10-pickles": ("cifar10", args.shared / "cifar10"),
        "gtsrb": ("gtsrb", args.shared / "gtsrb"),
        "fsdd": ("fsdd", args.shared / "fsdd"),
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="tnpipe-bench-") as tmp:
        for label in args.only.split(","):
            name, source = cases[label]
            if not source.exists():
                print(f"skip {label}: {source} not present")
                continue
            if name == "fsdd":
                try:
                    import tnpipe.data.fsdd  # noqa: F401
                except ImportError as e:
                    print(f"skip fsdd: tnpipe.data.fsdd not available ({e})")
                    continue
            start = time.perf_counter()
            s = prepare(name, source=source, force=True, prepared_root=Path(tmp) / label)
            sec = time.perf_counter() - start
            n = s.record.counts["train"] + s.record.counts["test"]
            if name == "fsdd":
                audio = _audio_seconds(source / "recordings")
                rate = f"{audio / sec:,.0f} audio-s/s ({audio:,.0f} s of audio)"
            else:
                rate = f"{n / sec:,.0f} images/s"
            rows.append((label, f"{s.record.counts['train']}/{s.record.counts['test']}", f"{sec:.1f}", rate))
            print(f"{label}: {rows[-1][1]} in {sec:.1f} s -> {rate}", flush=True)

    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| data | train/test | seconds | throughput |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
