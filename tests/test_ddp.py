"""Distributed training: torchrun with two CPU processes (gloo) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from tests.test_train import run_lines, write_recipe, write_tiny_dataset
from tnpipe.artifacts.checkpoint import load_checkpoint


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_cpu_processes(roots, tmp_path):
    write_tiny_dataset(roots["prepared"])
    recipe = write_recipe(tmp_path / "tinyset.toml", epochs=3)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(_free_port()), "-m", "tnpipe", "train", str(recipe), "--network", "tiny",
           "--synthetic"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rd = roots["results"] / "tinyset-synthetic" / "tiny"
    meta = json.loads((rd / "train.json").read_text())
    assert meta["finished"] and meta["agreement"] == 1.0
    assert meta["hw_test_acc"] >= 0.5                      # chance is 0.25
    # only rank 0 wrote: one log line per epoch plus the final one, no duplicates
    assert len(run_lines(rd / "train.log")) == 4
    state = load_checkpoint(rd / "checkpoint.pt")
    # each rank took 160 of the 320 frames per epoch in batches of 32 // 2 = 16: 10 steps
    assert state.epoch == 3 and state.finished
    assert [(h["steps"], h["processes"], h["frames_per_process"]) for h in state.history] == [(10, 2, 160)] * 3
