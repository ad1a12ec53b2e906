"""`tnpipe export RUN_DIR --format nir`: write a trained network in an exchange format."""

from __future__ import annotations

from pathlib import Path

import typer

from tnpipe.cli.app import app, user_errors
from tnpipe.cli.options import Command

FORMATS = ("nir",)


def _check_run(run_dir: Path) -> None:
    """The run folder exists, before torch is imported (a typo answers at once)."""
    from tnpipe.errors import ArtifactError

    if not run_dir.is_dir():
        raise ArtifactError(f"{run_dir}: no such run folder; expected results/NAME/NET from `tnpipe train`")


@app.command("export", cls=Command)
def export_cmd(
    run_dir: Path = typer.Argument(..., help="run folder from `tnpipe train`, e.g. results/cifar10/1chip"),
    fmt: str = typer.Option("nir", "--format", help="exchange format: nir (Neuromorphic Intermediate Representation)"),
    out: Path = typer.Option(None, "--out", help="output file (default: RUN_DIR/network.nir)"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing output file"),
    neuron: str = typer.Option("lif", "--neuron", help="spiking node: lif (read by snnTorch, norse, "
                               "sinabs, spyx) or if (IF: Lava, norse, sinabs, spyx)"),
) -> None:
    """Write the trained network as a NIR graph: per layer a dense Conv2d (integer trinary
    weights, leak as bias) and a memoryless LIF (or IF), with the off-chip transduction layer and
    the class read-out; plain `nir.read` type-checks it, snnTorch and norse run it.
    The TrueNorth core map (coremap.npz, from `deploy`) is not part of it: see docs/nir.md."""
    with user_errors():
        if fmt not in FORMATS:
            from tnpipe.errors import TnpipeError

            raise TnpipeError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
        _check_run(run_dir)
        # torch: imported once the run folder is known good
        from tnpipe.log import console
        from tnpipe.nn.nir_export import export_nir

        path, graph = export_nir(run_dir, out, force, neuron)
        layers = sum(1 for name in graph.nodes if name.endswith("_spike"))
        console.print(f"wrote {path}: NIR graph, {len(graph.nodes)} nodes, {layers} spiking layers "
                      f"({graph.metadata['network']!r}, trinary {graph.metadata['trinary']})", highlight=False, soft_wrap=True)
