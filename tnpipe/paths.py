"""The one place where the project's roots live.

Each root has a default relative to the current directory and one environment variable
that overrides it (the layout docs/DESIGN.md draws under "Stages and artifacts"):

    TNPIPE_RAW_ROOT       datasets/raw        raw data in each dataset's official layout
    TNPIPE_PREPARED_ROOT  datasets/prepared   PreparedDataset folders
    TNPIPE_RESULTS_ROOT   results             Checkpoint, CoreMap, RunResult, report
    TNPIPE_RECIPES        <repo>/recipes      one TOML per dataset

Synthetic stand-ins never share a folder with real data: their dataset id is
``NAME-synthetic`` (prepared and results), and their raw files go to
``<raw-root>/synthetic/NAME/`` in the official layout.
"""

from __future__ import annotations

import os
from pathlib import Path

SYNTHETIC_SUFFIX = "-synthetic"


def raw_root() -> Path:
    return Path(os.environ.get("TNPIPE_RAW_ROOT", "datasets/raw"))


def prepared_root() -> Path:
    return Path(os.environ.get("TNPIPE_PREPARED_ROOT", "datasets/prepared"))


def results_root() -> Path:
    return Path(os.environ.get("TNPIPE_RESULTS_ROOT", "results"))


def recipes_dir() -> Path:
    env = os.environ.get("TNPIPE_RECIPES")
    if env:
        return Path(env)
    repo_recipes = Path(__file__).resolve().parents[1] / "recipes"
    return repo_recipes if repo_recipes.is_dir() else Path("recipes")


def dataset_id(name: str, synthetic: bool) -> str:
    """Folder name of a dataset's prepared data and results: NAME or NAME-synthetic."""
    return name + SYNTHETIC_SUFFIX if synthetic else name


def raw_dir(name: str, synthetic: bool, root: Path | None = None) -> Path:
    root = raw_root() if root is None else Path(root)
    return root / "synthetic" / name if synthetic else root / name


def prepared_dir(name: str, synthetic: bool, root: Path | None = None) -> Path:
    root = prepared_root() if root is None else Path(root)
    return root / dataset_id(name, synthetic)


def run_dir(name: str, network: str, synthetic: bool, root: Path | None = None) -> Path:
    root = results_root() if root is None else Path(root)
    return root / dataset_id(name, synthetic) / network


def recipe_path(name: str) -> Path:
    return recipes_dir() / f"{name}.toml"
