"""`tnpipe train RECIPE --network NAME`: train an Eedn network (thin shell over tnpipe.train.train).

Distributed: `torchrun --nproc-per-node N -m tnpipe train RECIPE --network NAME ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors


@app.command("train")
def train_cmd(
    recipe: Annotated[Path, typer.Argument(help="recipe TOML, e.g. recipes/cifar10.toml")],
    network: Annotated[str, typer.Option("--network", "-n", help="network name from the recipe's \\[networks]")],
    layers: Annotated[str | None, typer.Option("--layers", help="Eedn string to train instead of the recipe's network")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a recipe value, e.g. train.epochs=5 (repeatable)")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu or cuda")] = "cpu",
    seed: Annotated[int | None, typer.Option("--seed", help="random seed (default: the recipe's train.seed)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue from the run's checkpoint.pt")] = False,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="train on the NAME-synthetic prepared stand-in")] = False,
    force: Annotated[bool, typer.Option("--force", help="retrain even if a finished run with these settings exists")] = False,
) -> None:
    """Train under TrueNorth's constraints; report the hardware-mode test accuracy."""
    with user_errors():
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            from tnpipe.errors import TrainingError

            raise TrainingError(f"--device {device!r}: expected cpu or cuda")
        from tnpipe.train import train

        train(recipe, network, overrides=tuple(set_ or ()), device=device, seed=seed, resume=resume,
              synthetic=synthetic, layers=layers, force=force)
