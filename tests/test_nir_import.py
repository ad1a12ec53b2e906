"""NIR in: `tnpipe import GRAPH.nir` puts a NIR graph on TrueNorth cores or refuses it per node.

A trained tiny run is exported to NIR; importing the file must give back the trained
network's exact integer description (weights, groups, leaks, votes), map it, and simulate it
with votes identical to the graph evaluated as NIR defines it. Graphs that break a chip rule
or are malformed are refused with one line per node, and nothing is written for them.
"""

from __future__ import annotations

import json

import nir
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.nir_numpy import run_graph
from tests.test_train import train_tiny_run
from tnpipe.cli import app
from tnpipe.nn.nir_import import description, import_graph, recover_groups
from tnpipe.nn.trained import load_trained


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    rd, prepared = train_tiny_run(tmp_path_factory.mktemp("nirin"), n_test=100)
    res = CliRunner().invoke(app, ["export", str(rd)])
    assert res.exit_code == 0, res.output
    return rd, prepared


def _import(*args: str):
    return CliRunner().invoke(app, ["import", *args])


def test_import_gives_back_the_trained_network_exactly(exported):
    rd, _ = exported
    want = load_trained(rd).description
    got = description(import_graph(rd / "network.nir"))
    assert got.network == want.network == "S-8 N-32 P-32(2) N-16(2)"
    assert np.array_equal(got.class_of_feature, want.class_of_feature)
    for g, w in zip(got.layers, want.layers, strict=True):
        assert g.groups == w.groups and np.array_equal(g.weights, w.weights) and np.array_equal(g.leak, w.leak)


def test_import_maps_simulates_and_matches_the_graph(exported, tmp_path):
    rd, data = exported
    out = tmp_path / "imp"
    res = _import(str(rd / "network.nir"), "--out", str(out), "--data", str(data))
    assert res.exit_code == 0, res.output
    rec = json.loads((out / "nir_deploy.json").read_text())
    assert rec["votes_exact"] and rec["frames"] == rec["frames_votes_equal"] == 100
    assert rec["cores"] > 0 and rec["fps"] > 0 and rec["mw"] > 0
    assert "votes exact on 100/100 frames" in res.output and "mW" in res.output
    assert (out / "coremap.npz").is_file() and (out / "network.npz").is_file()
    # the same votes as an interpreter independent of tnpipe computes from the graph
    from tnpipe.artifacts import PreparedDataset
    from tnpipe.chip.coremap import CoreMap
    from tnpipe.chip.engines import simulate
    from tnpipe.nn.inputs import to_float_nchw

    x = to_float_nchw(PreparedDataset.load(data).x["test"]).numpy()
    vals = run_graph(nir.read(rd / "network.nir"), x)
    votes = simulate(CoreMap.load(out), vals["L0_spike"].reshape(len(x), -1).astype(np.uint8)).votes
    assert np.array_equal(votes, vals["output"].reshape(len(x), -1))
    # negative control: the graph with one read-out weight raised where the last layer spikes
    graph = nir.read(rd / "network.nir")
    frame, c, yy, xx = np.argwhere(vals["L3_spike"])[0]
    graph.nodes["votes"].weight[1, c, yy, xx] += 1
    changed = run_graph(graph, x)["output"].reshape(len(x), -1)
    assert changed[frame, 1] == votes[frame, 1] + 1 and not np.array_equal(votes, changed)
    # refuses to overwrite (a run folder's core map too), then --force
    assert _import(str(rd / "network.nir"), "--out", str(out)).exit_code == 1
    (rd / "coremap.npz").write_bytes(b"a user's file")
    res = _import(str(rd / "network.nir"), "--out", str(rd))
    assert res.exit_code == 1 and "coremap.npz: already exists; use --force" in res.output
    assert (rd / "coremap.npz").read_bytes() == b"a user's file" and not (rd / "nir_deploy.json").exists()
    (rd / "coremap.npz").unlink()
    assert _import(str(rd / "network.nir"), "--out", str(out), "--force", "--frames", "5").exit_code == 0


def test_recover_groups_finds_the_blocks():
    w = np.zeros((8, 6, 1, 1))
    w[:4, :3] = 1
    w[4:, 3:] = -1
    assert recover_groups(w) == 2
    w[0, 5] = 1
    assert recover_groups(w) == 1


def _mutated(rd, tmp_path, change, name="bad.nir"):
    graph = nir.read(rd / "network.nir")
    change(graph)
    path = tmp_path / name
    nir.write(path, graph)
    return path


def _refused(path, tmp_path) -> list[str]:
    out = tmp_path / "never"
    res = _import(str(path), "--out", str(out))
    assert res.exit_code == 1, res.output
    assert not out.exists()                                    # nothing written for a refused graph
    return [line.removeprefix("error: ") for line in res.output.strip().splitlines()]


def _set(node, field, index, value):
    getattr(node, field)[index] = value


def test_chip_rules_are_refused_per_node_one_line_each(exported, tmp_path):
    rd, _ = exported

    def change(g):
        _set(g.nodes["L1_conv"], "weight", (0, 0, 0, 0), 0.37)
        g.nodes["L2_spike"].tau[:] = 5e-3
        _set(g.nodes["L3_conv"], "bias", 0, 0.5)

    path = _mutated(rd, tmp_path, change)
    assert _refused(path, tmp_path) == [
        f"{path}: node L1_conv: weight 0.37 is not an integer",
        f"{path}: node L2_spike: leak tau 5 ms has no TrueNorth equivalent (a frame is one memoryless tick: "
        "tau = 0.1 ms, one Euler step of dt = tau)",
        f"{path}: node L3_conv: bias 0.5 is not an integer leak",
    ]


def test_weights_beyond_the_axon_types_and_thresholds_varying(exported, tmp_path):
    rd, _ = exported

    def change(g):
        _set(g.nodes["L1_conv"], "weight", (0, 0, 0, 0), 2.0)
        g.nodes["L3_spike"].r[0, 0, 0] = 2.0

    path = _mutated(rd, tmp_path, change)
    assert _refused(path, tmp_path) == [
        f"{path}: node L1_conv: weight 2 is not in {{-1, 0, +1}} (the mapper's two axon types carry +1 and -1)",
        f"{path}: node L3_spike: r 2 is not 1 (the chip adds synaptic weights unscaled)",
    ]


def test_fan_in_and_unknown_geometry(exported, tmp_path):
    rd, _ = exported

    def change(g):
        g.nodes["L3_conv"] = nir.Conv2d((4, 4), np.ones((16, 32, 3, 3), np.float32), 1, 1, 1, 1,
                                        np.zeros(16, np.float32))
        g.nodes["L1_conv"] = nir.Conv2d((8, 8), np.ones((32, 8, 1, 1), np.float32), 1, 0, 2, 1,
                                        np.zeros(32, np.float32))

    path = _mutated(rd, tmp_path, change)
    lines = _refused(path, tmp_path)
    assert lines == [
        f"{path}: node L1_conv: kernel 1x1, stride (1, 1), padding (0, 0), dilation (2, 2) is not a layer the "
        "mapper knows (S 3x3/1/1, N 1x1/1/0, P 2x2/2/0, P4 4x4/2/1; padding 0 for 'valid')",
        f"{path}: node L3_conv: fan-in 3x3x32/1 = 288 exceeds 128 (one axon pair per trinary input)",
    ]


def test_a_leak_with_any_threshold_is_folded_exactly(exported, tmp_path):
    """v_threshold 2.5 instead of 1/2 with bias L + 2: the same neurons spike ([s + L + 2 > 2.5]
    == [s + L >= 1]), so the import must give the same leaks."""
    rd, _ = exported

    def change(g):
        g.nodes["L2_spike"].v_threshold[:] = 2.5
        g.nodes["L2_conv"].bias[:] += 2

    path = _mutated(rd, tmp_path, change)
    got = description(import_graph(path))
    want = load_trained(rd).description
    assert all(np.array_equal(g.leak, w.leak) for g, w in zip(got.layers, want.layers, strict=True))


def test_bad_files_one_line_each(exported, tmp_path):
    rd, _ = exported
    text = tmp_path / "notes.nir"
    text.write_text("not a graph")
    assert _refused(text, tmp_path) == [f"{text}: not an HDF5 file; expected a NIR graph written by nir.write"]
    missing = tmp_path / "missing.nir"
    assert _refused(missing, tmp_path) == [f"{missing}: no such file; expected a NIR graph (.nir, HDF5)"]

    g = nir.read(rd / "network.nir")
    cyc = nir.NIRGraph(dict(g.nodes), [*g.edges, ("L3_spike", "L1_conv")], type_check=False)
    nir.write(tmp_path / "cycle.nir", cyc)
    assert _refused(tmp_path / "cycle.nir", tmp_path) == [
        f"{tmp_path / 'cycle.nir'}: node L1_conv: on a cycle (L1_conv -> L1_spike -> L2_conv -> L2_spike -> "
        "L3_conv -> L3_spike -> L1_conv); expected a feed-forward chain"]
    branch = nir.NIRGraph(dict(g.nodes), [*g.edges, ("L0_spike", "L2_conv")], type_check=False)
    nir.write(tmp_path / "branch.nir", branch)
    assert _refused(tmp_path / "branch.nir", tmp_path) == [
        f"{tmp_path / 'branch.nir'}: node L0_spike: 1 inputs and 2 outputs; expected a chain (one each)"]

    loop = nir.NIRGraph({k: v for k, v in g.nodes.items() if k != "output"},
                        [e for e in g.edges if e[1] != "output"] + [("votes", "L1_conv")], type_check=False)
    nir.write(tmp_path / "loop.nir", loop)
    lines = _refused(tmp_path / "loop.nir", tmp_path)
    assert len(lines) == 1 and "node L1_conv: on a cycle (L1_conv -> " in lines[0]

    nodes = dict(g.nodes)
    nodes["L2_spike"] = nir.CubaLIF(*(np.ones((32, 4, 4), np.float32) for _ in range(6)))
    nir.write(tmp_path / "cuba.nir", nir.NIRGraph(nodes, list(g.edges), type_check=False))
    assert _refused(tmp_path / "cuba.nir", tmp_path) == [
        f"{tmp_path / 'cuba.nir'}: node L2_spike: type CubaLIF is unknown here; expected one of Conv2d, Affine, "
        "Linear, Scale, IF, LIF, Threshold, Input, Output, SumPool2d, Flatten"]

    nodes = dict(g.nodes)
    nodes["L2_conv"] = nir.Conv2d((8, 8), np.ones((32, 16, 2, 2), np.float32), 2, 0, 1, 1, np.zeros(32, np.float32))
    nir.write(tmp_path / "chain.nir", nir.NIRGraph(nodes, list(g.edges), type_check=False))
    assert _refused(tmp_path / "chain.nir", tmp_path) == [
        f"{tmp_path / 'chain.nir'}: node L2_conv: takes 16 input channels; node L1_spike gives shape (32, 8, 8)"]

    nodes = dict(g.nodes)
    nodes["input"] = nir.Input(input_type={"input": np.array([3, 100000, 100000])})
    nir.write(tmp_path / "huge.nir", nir.NIRGraph(nodes, list(g.edges), type_check=False))
    assert _refused(tmp_path / "huge.nir", tmp_path) == [
        f"{tmp_path / 'huge.nir'}: node input: declared shape (3, 100000, 100000); expected (C, H, W) with "
        "at most 16,777,216 elements"]


def test_the_papers_one_chip_network_round_trips(tmp_path):
    """Table 1's 1-chip network (untrained): groups up to 64 written dense, read back with
    plain nir.read (types checked) and imported to the identical integer description."""
    import types

    import torch

    from tnpipe.nn.hardware import export_description
    from tnpipe.nn.network import build_network
    from tnpipe.nn.nir_export import build_graph, nir_network

    net = ("S-16 P4-252(2) N-256(2) P-256(8) S-512(32) N-512(4) N-512(4) N-512(4) P-512(16) "
           "S-1024(64) N-1024(8) P-1024(32) N-1024(8) N-1024(8) N-2040(8)")
    torch.manual_seed(0)
    model = build_network(net, (3, 32, 32), 10).eval()
    desc = export_description(model)
    nir.write(tmp_path / "1chip.nir",
              build_graph(nir_network(types.SimpleNamespace(model=model, description=desc, meta={}), {})))
    assert nir.read(tmp_path / "1chip.nir").nodes["L4_conv"].weight.shape == (512, 256, 3, 3)   # S-512(32)
    got = description(import_graph(tmp_path / "1chip.nir"))
    assert got.network == net
    for g, w in zip(got.layers, desc.layers, strict=True):
        assert g.groups == w.groups and np.array_equal(g.weights, w.weights) and np.array_equal(g.leak, w.leak)
