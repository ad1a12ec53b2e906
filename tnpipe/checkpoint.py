"""The training Checkpoint artifact: `results/<id>/<net>/checkpoint.pt`, written atomically.

Content (a plain dict of tensors, numbers, strings, lists and dicts; loadable with
torch.load(weights_only=True)):

    format, version      "tnpipe.Checkpoint", CHECKPOINT_VERSION
    network              the Eedn string;  input_shape, num_classes
    recipe               Recipe.to_dict() (data, train, chip, networks) after overrides
    run_key              hash of everything that defines the run (skip / resume check)
    model                state_dict: hidden weights, trinary weights, BN bias/mean/std,
                         input normalisation, read-out assignment
    optimizer            optimiser state_dict
    rng                  torch CPU RNG state (+ CUDA when used) at the end of `epoch`
    epoch                epochs completed;  finished  True once training and export are done
    seed, history        per-epoch records (loss, accuracies, lr, spike rate, seconds)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tnpipe.atomic import atomic_path
from tnpipe.errors import ArtifactError

CHECKPOINT_FORMAT = "tnpipe.Checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a kill during the write leaves the previous checkpoint intact."""
    state = dict(state, format=CHECKPOINT_FORMAT, version=CHECKPOINT_VERSION)
    with atomic_path(Path(path)) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, map_location: str = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: checkpoint not found; run `tnpipe train` first")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many kinds for a truncated or foreign file
        raise ArtifactError(f"{path}: unreadable checkpoint ({e.__class__.__name__}: {str(e).splitlines()[0][:200]})") from e
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ArtifactError(f"{path}: not a tnpipe checkpoint (format {state.get('format') if isinstance(state, dict) else type(state).__name__!r})")
    if state.get("version") != CHECKPOINT_VERSION:
        raise ArtifactError(f"{path}: checkpoint version {state.get('version')!r}; expected {CHECKPOINT_VERSION}")
    return state
