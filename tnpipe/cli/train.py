"""`tnpipe train RECIPE --network NAME`: train an Eedn network (thin shell over tnpipe.train.train).

Distributed: `torchrun --nproc-per-node N -m tnpipe train RECIPE --network NAME ...`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tnpipe.cli.app import app, user_errors


@app.command("train")
def train_cmd(
    recipe: Path = typer.Argument(..., help="recipe TOML, e.g. recipes/cifar10.toml"),
    network: str = typer.Option(..., "--network", "-n", help="network name from the recipe's [networks]"),
    layers: str = typer.Option(None, "--layers", help="Eedn string to train instead of the recipe's network"),
    set_: list[str] = typer.Option([], "--set", help="override a recipe value, e.g. train.epochs=5 (repeatable)"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
    seed: int = typer.Option(None, "--seed", help="random seed (default: the recipe's train.seed)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the run's checkpoint.pt"),
    synthetic: bool = typer.Option(False, "--synthetic", help="train on the NAME-synthetic prepared stand-in"),
    force: bool = typer.Option(False, "--force", help="retrain even if a finished run with these settings exists"),
) -> None:
    """Train under TrueNorth's constraints; report the hardware-mode test accuracy."""
    with user_errors():
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            from tnpipe.errors import TrainingError

            raise TrainingError(f"--device {device!r}: expected cpu or cuda")
        from tnpipe.train import train

        train(recipe, network, overrides=tuple(set_), device=device, seed=seed, resume=resume,
              synthetic=synthetic, layers=layers, force=force)
