"""NeuroBench's metrics of a deployed network (tnpipe/nn/nb_metrics.py): hand-computed counts
on a two-layer example, and, where the `neurobench` package is installed, its own numbers on a
trained tiny run, equal."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from tests.test_train import train_tiny_run
from tnpipe.nn.nb_metrics import neurobench_metrics


def _tiny_net():
    """An untrained S-2 N-2 network on 1x3x3 frames with chosen weights (hand-countable)."""
    from tnpipe.nn.hardware import export_description
    from tnpipe.nn.network import build_network

    model = build_network("S-2 N-2", (1, 3, 3), 2).eval()
    with torch.no_grad():
        model.transduction.conv.weight.zero_()
        model.transduction.conv.weight[0, 0, 1, 1] = 1.0         # feature 0: the pixel itself
        model.transduction.conv.weight[1, 0, 0, 0] = -0.5        # feature 1: up-left neighbour, negated
        model.in_mean.zero_()
        model.in_std.fill_(1.0)
        for layer in model.spiking_layers():
            layer.bn.mean.zero_()
            layer.bn.std.fill_(1.0)
            layer.bn.bias.data.fill_(-0.25)                      # theta = 0.25 + eps: spike iff s > 0.25
    desc = export_description(model)
    desc.layers[0].weights[...] = np.array([[1, 0], [0, 0]], np.int8).reshape(2, 2, 1, 1)
    net = types.SimpleNamespace(model=model, description=desc)
    net.transduce = lambda x: model.transduce(torch.as_tensor(x).float().permute(0, 3, 1, 2) / 255).to(torch.uint8).numpy()
    return net


def test_hand_counted_example():
    net = _tiny_net()
    x = np.zeros((2, 3, 3, 1), np.uint8)
    x[0, 1, 1, 0] = 255            # frame 0: the centre pixel on
    x[1] = 255                     # frame 1: every pixel on
    m = neurobench_metrics(net, x)
    # weights: L0 2x1x3x3 = 18 (2 nonzero), L1 2x2x1x1 = 4 (1 nonzero); biases 2 + 2
    assert (m["parameter_count"], m["footprint_bytes"]) == (26, 104)
    assert m["connection_sparsity"] == 19 / 22
    # dense: L0 = 2 features x in-bounds taps of a 3x3 'same' conv on 3x3 (4*4 + 4*6 + 9 = 49) = 98
    #        L1 = 2 x 2 inputs x 9 positions = 36; per frame
    assert m["synops_dense"] == 98 + 36
    # effective MACs (L0): frame 0 (centre pixel): weight (1,1) of feature 0 reaches 1 output,
    #   weight (0,0) of feature 1 reaches 1 output: 2; frame 1 (all 9 on): 9 + 4 = 13
    assert m["synops_effective_macs"] == (2 + 13) / 2
    # spikes of L0: feature 0 = x > 0.25: frame 0 one, frame 1 nine; feature 1 = -0.5 x(up-left) > 0.25: none
    # L1: feature 0 copies L0 feature 0 (weight 1, leak from theta 0.25 -> s >= 1); feature 1 weight 0: silent
    # effective ACs (L1): input spikes x nonzero weights = L0 feature 0's spikes: (1 + 9) / 2
    assert m["synops_effective_acs"] == 5
    # activation sparsity over L0 and L1 outputs: (1 + 9) * 2 spikes of 2 frames x (18 + 18) neurons
    assert m["activation_sparsity"] == 1 - 20 / 72


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from tnpipe.artifacts import PreparedDataset

    rd, prepared = train_tiny_run(tmp_path_factory.mktemp("nb"), n_test=64)
    return rd, PreparedDataset.load(prepared)


class Spike(torch.nn.Module):
    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold

    def forward(self, v):
        return (v > self.threshold).float()


def _deploy_copy(trained) -> torch.nn.Sequential:
    """The network as NeuroBench sees it: plain Conv2d layers holding the deployed values."""
    from tnpipe.nn.nir_export import nir_network

    net = nir_network(trained, {})
    mods = []
    for layer in net.layers:
        conv = torch.nn.Conv2d(layer.weight.shape[1] * layer.groups, layer.weight.shape[0],
                               layer.weight.shape[2], layer.stride, layer.padding, groups=layer.groups)
        conv.weight.data = torch.from_numpy(layer.weight.astype(np.float32))
        conv.bias.data = torch.from_numpy(layer.bias.astype(np.float32))
        mods += [conv, Spike(layer.threshold)]
    return torch.nn.Sequential(*mods)


def test_equal_to_the_neurobench_package(trained_run):
    pytest.importorskip("neurobench")
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import TorchModel

    from tnpipe.nn.inputs import to_float_nchw
    from tnpipe.nn.trained import load_trained

    rd, ds = trained_run
    trained = load_trained(rd)
    x, y = ds.x["test"], ds.y["test"]
    ours = neurobench_metrics(trained, x)
    with torch.no_grad():
        norm = trained.model.normalise(to_float_nchw(x))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(norm, torch.as_tensor(y)), batch_size=16)
    model = TorchModel(_deploy_copy(trained))
    model.add_activation_module(Spike)
    bench = Benchmark(model, loader, [], [lambda out: out.sum((2, 3)).argmax(1)],
                      [[Footprint, ConnectionSparsity, ParameterCount], [ActivationSparsity, SynapticOperations]])
    theirs = bench.run(quiet=True)
    assert theirs["Footprint"] == ours["footprint_bytes"] and theirs["ParameterCount"] == ours["parameter_count"]
    assert theirs["ConnectionSparsity"] == round(ours["connection_sparsity"], 4)
    assert theirs["ActivationSparsity"] == pytest.approx(ours["activation_sparsity"], abs=1e-12)
    syn = theirs["SynapticOperations"]
    assert syn["Dense"] == pytest.approx(ours["synops_dense"], rel=1e-12)
    assert syn["Effective_MACs"] == pytest.approx(ours["synops_effective_macs"], rel=1e-12)
    assert syn["Effective_ACs"] == pytest.approx(ours["synops_effective_acs"], rel=1e-12)
    assert ours["synops_effective_acs"] > 0 and 0 < ours["activation_sparsity"] < 1
    # negative control: a deploy copy with one layer's leaks raised is measured differently
    changed = _deploy_copy(trained)
    changed[2].bias.data += 5.0
    model = TorchModel(changed)
    model.add_activation_module(Spike)
    other = Benchmark(model, loader, [], [lambda out: out.sum((2, 3)).argmax(1)],
                      [[], [ActivationSparsity, SynapticOperations]]).run(quiet=True)
    assert other["ActivationSparsity"] != pytest.approx(ours["activation_sparsity"], abs=1e-6)
    assert other["SynapticOperations"]["Effective_ACs"] != pytest.approx(ours["synops_effective_acs"])


def test_deploy_records_them_and_the_wide_report_shows_them(trained_run, monkeypatch):
    from typer.testing import CliRunner

    from tnpipe.cli import app
    from tnpipe.deploy import deploy
    from tnpipe.nn.trained import load_trained

    rd, ds = trained_run
    monkeypatch.setenv("TNPIPE_RESULTS_ROOT", str(rd.parents[1]))
    rec = deploy(rd, frames=64, force=True).record
    assert rec.neurobench == neurobench_metrics(load_trained(rd), ds.x["test"][:64])
    res = CliRunner().invoke(app, ["report", "--all", "--wide"], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    assert "footprint B" in res.output and "synops eff" in res.output   # titles "NB footprint B", wrapped
    assert str(rec.neurobench["footprint_bytes"]) in res.output
    compact = CliRunner().invoke(app, ["report", "--all"], env={"COLUMNS": "300"})
    assert compact.exit_code == 0 and "footprint" not in compact.output
