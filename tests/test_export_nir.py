"""`tnpipe export --format nir`: a trained tiny run round-trips exactly through a NIR file.

The reference is hardware mode (tnpipe.nn.hardware, what deploy compares the chip with):
from the transduction spikes, every on-chip layer's spikes and the class votes must come
out of the NIR graph identically, evaluated by an interpreter that knows nothing of tnpipe
(tests/nir_numpy.py)."""

from __future__ import annotations

import dataclasses
import json

import nir
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.nir_numpy import run_graph
from tests.test_train import NET, train_tiny_run
from tnpipe.artifacts import PreparedDataset
from tnpipe.artifacts.checkpoint import CHECKPOINT_NAME, load_checkpoint
from tnpipe.cli import app
from tnpipe.nn.hardware import hardware_forward
from tnpipe.nn.inputs import to_float_nchw
from tnpipe.nn.nir_export import dense_weight, read_nir
from tnpipe.nn.trained import load_trained

NODES = ["input", "input_norm", "L0_conv", "L0_spike", "L1_conv", "L1_spike", "L2_conv", "L2_spike",
         "L3_conv", "L3_spike", "votes", "output"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One trained tiny run (1 epoch of S-8 N-32 P-32(2) N-16(2) on 8x8 images) and its test frames."""
    rd, prepared = train_tiny_run(tmp_path_factory.mktemp("nir"))
    x = PreparedDataset.load(prepared).x["test"]
    return rd, x


def _export(*args: str):
    return CliRunner().invoke(app, ["export", *args])


@pytest.fixture(scope="module")
def exported(trained):
    rd, x = trained
    res = _export(str(rd), "--format", "nir")
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"wrote {rd / 'network.nir'}: NIR graph, 12 nodes, 4 spiking layers")
    return rd, x, nir.read(rd / "network.nir")                 # plain nir.read: the types check


def test_graph_holds_the_integer_network_and_metadata(exported):
    rd, _, graph = exported
    net = load_trained(rd)
    assert sorted(graph.nodes) == sorted(NODES)
    assert set(graph.edges) == set(zip(NODES[:-1], NODES[1:], strict=True))
    for ld in net.description.layers:
        conv = graph.nodes[f"{ld.name.split()[0]}_conv"]
        assert isinstance(conv, nir.Conv2d) and int(conv.groups) == 1   # grouped layers written dense
        assert np.array_equal(conv.weight, dense_weight(ld.weights, ld.groups))
        assert set(np.unique(conv.weight)) <= {-1.0, 0.0, 1.0}
        assert np.array_equal(conv.bias, ld.leak)                      # the leak is the bias
        spike = graph.nodes[f"{ld.name.split()[0]}_spike"]
        assert isinstance(spike, nir.LIF) and np.all(spike.v_threshold == 0.5)
        assert np.all(spike.tau == 1e-4) and np.all(spike.r == 1) and np.all(spike.v_leak == 0)
    # block-diagonal: P-32(2) has no weight between group 0's inputs and group 1's outputs
    assert not graph.nodes["L2_conv"].weight[16:, :16].any() and graph.nodes["L2_conv"].weight[:16, :16].any()
    assert np.all(graph.nodes["L0_spike"].v_threshold == 0.0)
    votes = graph.nodes["votes"].weight                              # a conv over the whole 4x4 map
    assert votes.shape == (4, 16, 4, 4) and votes.sum() == 16 * 16
    assert np.array_equal(votes[:, :, 0, 0].argmax(0), np.arange(16) % 4)
    md = graph.metadata
    assert (md["tnpipe_format"], int(md["tnpipe_format_version"]), md["network"], md["network_name"],
            md["dataset"], bool(md["synthetic"]), bool(md["trinary"]), int(md["num_classes"])) == \
           ("tnpipe.nir", 2, NET, "tiny", "tinyset", True, True, 4)
    assert md["neuron"] == "lif" and int(md["timesteps_per_frame"]) == 1
    assert json.loads(md["layers"]) == ["L0 S-8", "L1 N-32", "L2 P-32(2)", "L3 N-16(2)"]
    recipe = load_checkpoint(rd / CHECKPOINT_NAME).recipe
    assert md["recipe"] == recipe["path"] and json.loads(md["recipe_json"]) == json.loads(json.dumps(recipe))


def test_nir_graph_reproduces_hardware_mode_exactly(exported):
    rd, x, graph = exported
    net = load_trained(rd)
    desc = net.description
    spikes = net.transduce(x)                                  # the chip's input, as deploy makes it
    vals = run_graph(graph, to_float_nchw(x).numpy(), overrides={"L0_spike": spikes})
    for i, ld in enumerate(desc.layers):
        hw = hardware_forward(dataclasses.replace(desc, layers=desc.layers[:i + 1]), spikes)
        assert hw.mean() > 0.05 and np.array_equal(vals[f"{ld.name.split()[0]}_spike"], hw), ld.name
    votes = net.hardware_votes(spikes)
    out = vals["output"].reshape(len(x), -1)
    assert out.shape == (80, 4) and np.array_equal(out, votes)
    assert np.array_equal(out.argmax(1), net.predict_float(x))


def test_nir_graph_reproduces_the_transduction_from_raw_frames(exported):
    """The off-chip transduction is real-valued (float32 in tnpipe, float64 here): its spikes
    must agree wherever the response is not within rounding of the threshold, and the
    votes of every frame without such a near tie must be identical end to end."""
    rd, x, graph = exported
    net = load_trained(rd)
    vals = run_graph(graph, to_float_nchw(x).numpy())
    theta = -graph.nodes["L0_conv"].bias.astype(np.float64).reshape(1, -1, 1, 1)
    near = np.abs(vals["L0_conv"]) < 1e-5 * np.maximum(1.0, np.abs(theta))
    spikes = net.transduce(x)
    assert near.mean() < 1e-3 and np.array_equal(vals["L0_spike"][~near], spikes[~near])
    clean = ~near.any(axis=(1, 2, 3))
    assert clean.sum() >= 70
    assert np.array_equal(vals["output"].reshape(len(x), -1)[clean], net.hardware_votes(spikes)[clean])


def test_a_graph_without_the_leak_is_caught(exported):
    """Negative control: the comparison above sees a missing leak."""
    rd, x, graph = exported
    net = load_trained(rd)
    spikes = net.transduce(x)
    conv = graph.nodes["L1_conv"]
    bias = conv.bias.copy()
    try:
        conv.bias[:] = 0
        vals = run_graph(graph, to_float_nchw(x).numpy(), overrides={"L0_spike": spikes})
    finally:
        conv.bias[:] = bias
    assert not np.array_equal(vals["L1_spike"], hardware_forward(
        dataclasses.replace(net.description, layers=net.description.layers[:1]), spikes))


def test_plain_nir_read_type_checks_the_graph(exported):
    rd, _, _ = exported
    graph = nir.read(rd / "network.nir")                       # type_check=True, nir's default
    assert list(graph.nodes["L2_conv"].input_type["input"]) == [32, 8, 8]
    assert list(graph.nodes["L3_conv"].output_type["output"]) == [16, 4, 4]
    assert list(graph.nodes["output"].output_type["output"]) == [4, 1, 1]
    assert list(read_nir(rd / "network.nir").nodes["votes"].input_type["input"]) == [16, 4, 4]


def test_the_if_neuron_option(exported, tmp_path):
    rd, x, _ = exported
    assert _export(str(rd), "--out", str(tmp_path / "if.nir"), "--neuron", "if").exit_code == 0
    graph = nir.read(tmp_path / "if.nir")
    spike = graph.nodes["L1_spike"]
    assert isinstance(spike, nir.IF) and np.all(spike.v_threshold == 0.5) and graph.metadata["neuron"] == "if"
    net = load_trained(rd)
    spikes = net.transduce(x)
    vals = run_graph(graph, to_float_nchw(x).numpy(), overrides={"L0_spike": spikes})
    assert np.array_equal(vals["output"].reshape(len(x), -1), net.hardware_votes(spikes))
    res = _export(str(rd), "--out", str(tmp_path / "x.nir"), "--neuron", "izh")
    assert res.exit_code == 1 and res.output == "error: --neuron 'izh': expected one of lif, if\n"
    assert not (tmp_path / "x.nir").exists()


def test_export_refuses_to_overwrite_and_honours_out_and_force(exported, tmp_path):
    rd, _, _ = exported
    path = rd / "network.nir"
    before = path.read_bytes()
    res = _export(str(rd))
    assert res.exit_code == 1 and res.output == f"error: {path}: already exists; use --force to overwrite it\n"
    assert path.read_bytes() == before
    other = tmp_path / "sub" / "tiny.nir"
    assert _export(str(rd), "--out", str(other)).exit_code == 0
    assert nir.read(other).metadata["network"] == NET
    assert _export(str(rd), "--out", str(other)).exit_code == 1
    assert _export(str(rd), "--out", str(other), "--force").exit_code == 0
    res = _export(str(rd), "--out", str(tmp_path))
    assert res.exit_code == 1 and res.output == (f"error: --out {tmp_path}: is a folder; expected a file name "
                                                 f"such as {tmp_path / 'network.nir'}\n")


def test_export_errors_are_one_line(tmp_path):
    res = _export(str(tmp_path / "nope"))
    assert res.exit_code == 1
    assert res.output == f"error: {tmp_path / 'nope'}: no such run folder; expected results/NAME/NET from `tnpipe train`\n"
    res = _export(str(tmp_path))                                # a folder without a trained network
    assert res.exit_code == 1
    assert res.output == f"error: {tmp_path / CHECKPOINT_NAME}: checkpoint not found; run `tnpipe train` first\n"
    assert not (tmp_path / "network.nir").exists()
    res = _export(str(tmp_path), "--format", "onnx")
    assert res.exit_code == 1 and res.output == "error: --format 'onnx': expected one of nir\n"


def test_an_untrained_wider_network_round_trips(tmp_path):
    """P4 and 4-group layers, 10 classes over 40 features, random leaks: built, not trained."""
    import types

    import torch

    from tnpipe.nn.hardware import export_description
    from tnpipe.nn.network import build_network
    from tnpipe.nn.nir_export import build_graph, nir_network

    torch.manual_seed(3)
    model = build_network("S-8 P4-64(2) N-64(2) P-64(4) N-40(2)", (3, 16, 16), 10).eval()
    for layer in model.spiking_layers():
        c = layer.bn.bias.numel()
        layer.bn.mean.copy_(torch.randn(c, dtype=torch.float64) * 3)
        layer.bn.std.copy_(torch.rand(c, dtype=torch.float64) * 2 + 1)
        layer.bn.bias.data.copy_(torch.randn(c))
    desc = export_description(model)
    assert len(np.unique(np.concatenate([ld.leak for ld in desc.layers]))) > 10
    nir.write(tmp_path / "w.nir", build_graph(nir_network(types.SimpleNamespace(model=model, description=desc, meta={}), {})))
    graph = nir.read(tmp_path / "w.nir")
    x = np.random.default_rng(0).integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    with torch.no_grad():
        spikes = model.transduce(to_float_nchw(x)).to(torch.uint8).numpy()
    vals = run_graph(graph, to_float_nchw(x).numpy(), overrides={"L0_spike": spikes})
    for i, ld in enumerate(desc.layers):
        hw = hardware_forward(dataclasses.replace(desc, layers=desc.layers[:i + 1]), spikes)
        assert 0 < hw.mean() < 1 and np.array_equal(vals[f"{ld.name.split()[0]}_spike"], hw), ld.name
    assert np.array_equal(vals["output"].reshape(16, -1), desc.votes(hardware_forward(desc, spikes)))
    assert [graph.nodes[f"L{i}_conv"].weight.shape[1] for i in range(5)] == [3, 8, 64, 64, 64]
