"""`tnpipe import GRAPH.nir`: put a NIR graph from any tool on TrueNorth cores (docs/nir.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors


@app.command("import")
def import_cmd(
    graph: Annotated[Path, typer.Argument(help="NIR graph (.nir, HDF5), e.g. from snnTorch's export_to_nir.")],
    out: Annotated[Path | None, typer.Option(help="Folder for coremap.npz, network.npz and nir_deploy.json "
                                                  "(default: RESULTS_ROOT/nir/GRAPH_STEM).")] = None,
    frames: Annotated[int, typer.Option(min=1, help="Frames to simulate.")] = 100,
    data: Annotated[Path | None, typer.Option(help="A prepared dataset folder whose test inputs are the frames "
                                                   "(default: seeded uniform [0, 1) frames).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing nir_deploy.json.")] = False,
) -> None:
    """Check a NIR graph against the chip's rules, map it onto cores, simulate it on frames and
    compare the chip's votes with the graph's, frame for frame; report cores, fps and mW.
    A graph that breaks a rule is refused with one line per node; nothing is written then."""
    with user_errors():
        from tnpipe.log import console
        from tnpipe.nir_deploy import deploy_nir
        from tnpipe.paths import results_root

        res = deploy_nir(graph, out or results_root() / "nir" / graph.stem, frames, data, force).record
        console.print(f"{graph}: {res['network']!r} on {res['cores']} cores ({res['chips']} chip(s)), "
                      f"latency {res['latency_ticks']} ticks", highlight=False, soft_wrap=True)
        console.print(f"chip == NIR graph: votes {'exact' if res['votes_exact'] else 'NOT exact'} on "
                      f"{res['frames_votes_equal']}/{res['frames']} frames ({res['frames_source']}); "
                      f"{res['fps']:.0f} fps, {res['mw']:.2f} mW, {res['uj_per_frame']:.2f} uJ/frame "
                      "(model estimates)", highlight=False, soft_wrap=True)
        if not res["votes_exact"]:
            raise typer.Exit(3)
