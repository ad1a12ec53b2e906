"""Speech preparation: time per dataset, and a learnability check of what it produces.

    nice python benchmarks/speech.py [--fsdd-root ../shared/data] [--epochs 30]

For vad, timit_class, timit_frames (synthetic TIMIT-format corpus) and fsdd (synthetic and,
if present, the real recordings in ../shared/data/fsdd) it runs `prepare(..., force=True)`
into a temporary root, then trains a small float MLP (flatten -> 256 ReLU -> classes, Adam,
fixed seed) on x_train and reports its test accuracy. The MLP is NOT the Eedn network: it
only shows that the features carry the labels (a stand-in that no model can learn would
make every later stage meaningless).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tnpipe.artifacts import PreparedDataset
from tnpipe.data.config import DataCfg
from tnpipe.prepare import prepare


def mlp_accuracy(ds: PreparedDataset, epochs: int, seed: int = 0) -> float:
    torch.manual_seed(seed)
    xtr = torch.tensor(ds.x["train"].astype(np.float32)).flatten(1)
    ytr = torch.tensor(ds.y["train"])
    xte = torch.tensor(ds.x["test"].astype(np.float32)).flatten(1)
    yte = torch.tensor(ds.y["test"])
    model = torch.nn.Sequential(torch.nn.Linear(xtr.shape[1], 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, ds.num_classes))
    opt = torch.optim.Adam(model.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
    with torch.no_grad():
        return float((model(xte).argmax(1) == yte).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fsdd-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--only", nargs="*", help="row labels to run (substring match), e.g. 'stand-in'")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}")
    print("| data | train/test | input | prepare s | MLP test acc |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(n, True, None) for n in ("vad", "timit_class", "timit_frames", "fsdd")]
        fsdd = args.fsdd_root / "fsdd"
        if (fsdd / "recordings").is_dir():
            runs += [("fsdd", False, None), ("vad", False, fsdd)]    # vad: FSDD speech stand-in
        for name, synthetic, source in runs:
            tag = f"{name} {'synthetic' if synthetic else 'real'} {'stand-in' if source else ''}"
            if args.only and not any(o in tag for o in args.only):
                continue
            t0 = time.perf_counter()
            s = prepare(name, raw_root=fsdd.parent if name == "fsdd" and not synthetic else Path(tmp) / "raw",
                            source=source, synthetic=synthetic, force=True,
                            prepared_root=Path(tmp) / "prepared", cfg=DataCfg(name=name))
            secs = time.perf_counter() - t0
            acc = mlp_accuracy(PreparedDataset.load(s.path), args.epochs)
            label = f"{name} ({'synthetic' if synthetic else 'real'}{', FSDD speech stand-in' if source else ''})"
            print(f"| {label} | {s.record.counts['train']}/{s.record.counts['test']} | {'x'.join(map(str, s.record.input_shape))} "
                  f"| {secs:.1f} | {acc:.3f} |", flush=True)


if __name__ == "__main__":
    main()
