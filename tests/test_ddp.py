"""Distributed training: torchrun with two CPU processes (gloo) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import torch

from tests.test_train import NET, run_lines, write_recipe, write_tiny_dataset
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
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
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


def _agents(nodes: int, recipe, results, port: int) -> list[subprocess.Popen]:
    """`nodes` torchrun agents on 127.0.0.1 (each a "machine") with 2 // nodes processes each."""
    env = dict(os.environ, OMP_NUM_THREADS="1", TNPIPE_RESULTS_ROOT=str(results))
    train = ["-m", "tnpipe", "train", str(recipe), "--network", "tiny", "--synthetic"]
    if nodes == 1:
        launch = [["--nnodes", "1", "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(port)]]
    else:   # the README's two-machine command, both "machines" on the loopback address; is_host
        # says which agent serves the rendezvous store (on real machines: the endpoint's host)
        launch = [["--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(i), "--rdzv-backend", "c10d",
                   "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "tnpipe-test",
                   "--rdzv-conf", f"is_host={int(i == 0)}"] for i in range(2)]
    return [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", *args, *train], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in launch]


def _run(nodes: int, recipe, results, tries: int = 2) -> dict:
    procs = _agents(nodes, recipe, results, _free_port())
    errs = [p.communicate(timeout=240)[1] for p in procs]
    if tries > 1 and any(p.returncode for p in procs) and any("RendezvousConnectionError" in e for e in errs):
        # torchrun's agents lost their rendezvous store (seen once under load 8, the agents'
        # own monitoring, not training): once more, from scratch
        shutil.rmtree(results, ignore_errors=True)
        return _run(nodes, recipe, results, tries - 1)
    assert all(p.returncode == 0 for p in procs), "\n----\n".join(e[-2500:] for e in errs)
    return load_checkpoint(results / "tinyset-synthetic" / "tiny" / "checkpoint.pt").model


def test_two_nodes_on_loopback_train_the_weights_of_one_node_with_the_same_global_batch(roots, tmp_path):
    """Two torchrun agents (--nnodes 2, c10d rendezvous on 127.0.0.1, one process each) end with
    the weights, batch-norm statistics and thresholds of one agent running two processes with the
    same global batch, bit for bit; and each rank held only its shard, yet the input
    normalisation and the inference statistics are the whole training set's."""
    from tnpipe.artifacts import PreparedDataset
    from tnpipe.nn.inputs import channel_stats, to_float_nchw
    from tnpipe.nn.network import build_network
    from tnpipe.nn.stats import set_full_set_statistics

    write_tiny_dataset(roots["prepared"])
    recipe = write_recipe(tmp_path / "tinyset.toml", epochs=1)
    one = _run(1, recipe, tmp_path / "one-node")
    two = _run(2, recipe, tmp_path / "two-nodes")
    assert one.keys() == two.keys()
    assert all(torch.equal(one[k], two[k]) for k in one), [k for k in one if not torch.equal(one[k], two[k])]
    # the whole set's statistics, from shards: recomputed here on the whole set in one process
    x = to_float_nchw(PreparedDataset.load(roots["prepared"] / "tinyset-synthetic").x["train"])
    mean, std = channel_stats(x)
    assert torch.allclose(two["in_mean"], mean, atol=1e-6) and torch.allclose(two["in_std"], std, atol=1e-6)
    net = build_network(NET, (3, 8, 8), 4)
    net.load_state_dict(two)
    set_full_set_statistics(net, x, batch_size=64)
    for k, v in net.state_dict().items():
        if k.endswith((".mean", ".std")):
            assert torch.allclose(v, two[k], rtol=1e-9, atol=1e-9), k
    # negative control: the statistics of one shard alone are not the whole set's
    assert not torch.allclose(channel_stats(x[::2])[0], mean, atol=1e-6)
