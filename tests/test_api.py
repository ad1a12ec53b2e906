"""tnpipe.api: the README's example runs as written (on a trained tiny run), and the calls
agree with the CLI's stages."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.test_train import train_tiny_run

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("api"), n_test=100)[0]


def test_the_readme_example_runs(run_dir, tmp_path, capsys):
    code = re.search(r"<!-- api-example -->\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert code.count('"results/cifar10-synthetic/tiny"') == 2 and '"/tmp/tiny.nir"' in code
    code = code.replace('"results/cifar10-synthetic/tiny"', repr(str(run_dir)))
    code = code.replace('"/tmp/tiny.nir"', repr(str(tmp_path / "tiny.nir")))
    exec(compile(code, str(README), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\d+ cores, \d+ fps, [\d.]+ mW", lines[0]) and lines[1] == "True"
    assert float(lines[2]) >= 0.9


def test_api_agrees_with_the_stages(run_dir, tmp_path):
    import tnpipe.api as tn
    from tnpipe.nn.trained import load_trained

    net = tn.load_run(run_dir)
    frames = tn.dataset_frames(net, 100)
    trained = load_trained(run_dir)
    spikes = trained.transduce(frames)
    assert np.array_equal(net.spikes(frames), spikes)
    assert np.array_equal(net.infer(frames), trained.hardware_votes(spikes))
    cm = tn.map_network(net)
    sim = tn.simulate(cm, spikes)
    assert np.array_equal(sim.votes, net.infer(frames))
    fig = tn.energy(cm, sim)
    rec = tn.deploy(run_dir, frames=100)                   # the deploy stage: the same map and figures
    assert rec.cores == cm.n_cores and rec.fps == pytest.approx(fig["fps"])
    assert rec.mw == pytest.approx(fig["mw"])
    out = tn.deploy_nir(tn.export_nir(run_dir, tmp_path / "t.nir"), tmp_path / "imp", frames=10)
    assert out["votes_exact"] and out["cores"] == cm.n_cores


def test_api_errors(run_dir, tmp_path):
    import tnpipe.api as tn
    from tnpipe.errors import ArtifactError, MappingError

    path = tn.export_nir(run_dir, tmp_path / "t.nir")
    with pytest.raises(ArtifactError, match="a NIR graph carries no dataset"):
        tn.dataset_frames(tn.load_nir(path))
    (tmp_path / "x.nir").write_text("nope")
    with pytest.raises(MappingError, match="not an HDF5 file"):
        tn.load_nir(tmp_path / "x.nir")
