"""A finished training run, loaded for `deploy` and the chip simulation.

    net = load_trained(results/cifar10/1chip)
    spikes = net.transduce(x)              # off-chip transduction: uint8 {0,1} (N, C, H, W)
    votes  = net.hardware_votes(spikes)    # hardware mode (integer), int64 (N, classes)
    pred   = net.predict_float(x)          # the float graph's predictions, int64 (N,)

The chip simulation is fed `transduce(x)` and must reproduce `hardware_votes` frame for frame.
`load_record(run_dir)` reads train.json with its sections typed (TrainCfg, ChipCfg).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tnpipe.artifacts.checkpoint import CHECKPOINT_NAME, Checkpoint, ModelArgs
from tnpipe.artifacts.network import NetworkDescription
from tnpipe.artifacts.training import TrainingRecord
from tnpipe.chip.config import ChipCfg
from tnpipe.errors import ArtifactError
from tnpipe.netspec import parse_network
from tnpipe.nn.hardware import hardware_votes
from tnpipe.nn.inputs import to_float_nchw
from tnpipe.nn.network import EednNet
from tnpipe.nn.train_section import TrainCfg


def load_record(run_dir: Path) -> TrainingRecord:
    """train.json of `run_dir`, its [train] a TrainCfg and its [chip] a ChipCfg."""
    return TrainingRecord.load(run_dir, TrainCfg, ChipCfg)


@dataclass
class TrainedNetwork:
    model: EednNet
    description: NetworkDescription
    record: TrainingRecord                                # train.json
    device: str = "cpu"
    batch_size: int = 256

    @property
    def meta(self) -> dict:
        """train.json as a plain dict (for writers of other formats, e.g. NIR metadata)."""
        return dataclasses.asdict(self.record)

    @torch.no_grad()
    def transduce(self, x: np.ndarray) -> np.ndarray:
        """Stored inputs (uint8 NHWC images or float16 NCHW features) -> uint8 spikes (N, C, H, W)."""
        out = [self.model.transduce(to_float_nchw(x[i:i + self.batch_size]).to(self.device)).to(torch.uint8).cpu()
               for i in range(0, len(x), self.batch_size)]
        if not out:
            return np.zeros((0, *self.description.input_shape), dtype=np.uint8)
        return torch.cat(out).numpy()

    def hardware_votes(self, spikes: np.ndarray) -> np.ndarray:
        """int64 (N, classes): the hardware-mode (integer) graph's votes from transduction spikes."""
        return hardware_votes(self.description, spikes, self.batch_size, self.device)

    @torch.no_grad()
    def float_votes(self, x: np.ndarray) -> np.ndarray:
        """The float graph's votes (N, classes) from stored inputs."""
        out = [self.model(to_float_nchw(x[i:i + self.batch_size]).to(self.device)).cpu()
               for i in range(0, len(x), self.batch_size)]
        return torch.cat(out).numpy().astype(np.int64) if out else np.zeros((0, self.description.num_classes), np.int64)

    def predict_float(self, x: np.ndarray) -> np.ndarray:
        """int64 (N,) predictions of the float graph (argmax of votes, ties -> lowest class)."""
        return self.float_votes(x).argmax(1).astype(np.int64)


def model_from_checkpoint(state: Checkpoint, device: str = "cpu", record: TrainingRecord | None = None) -> EednNet:
    """Rebuild the EednNet a checkpoint was saved from: geometry from its network string, input
    shape and classes; dropout, hysteresis and init scale from its `model_args`, or, for a
    checkpoint of an earlier release (none recorded), from `record` (train.json's [train])."""
    args = state.model_args
    if args is None:
        if record is None:
            raise ArtifactError(f"checkpoint of {state.network_name!r} records no model arguments (an earlier "
                                f"release's); its train.json is needed to rebuild the model")
        args = ModelArgs(dropout=record.train.dropout, hysteresis=record.train.hysteresis,
                         init_scale=record.train.init_scale)
    spec = parse_network(state.network, tuple(state.input_shape), state.num_classes)
    model = EednNet(spec, dropout=args.dropout, hysteresis=args.hysteresis, init_scale=args.init_scale)
    model.load_state_dict(state.model)
    return model.to(device).eval()


def load_trained(run_dir: Path, device: str = "cpu") -> TrainedNetwork:
    """Load a finished run (checkpoint.pt + network.npz + train.json) for deploy."""
    run_dir = Path(run_dir)
    state = Checkpoint.load(run_dir / CHECKPOINT_NAME, map_location=device)
    if not state.finished:
        raise ArtifactError(f"{run_dir / CHECKPOINT_NAME}: training is not finished (epoch {state.epoch}); "
                            "run `tnpipe train ... --resume` to complete it")
    desc = NetworkDescription.load(run_dir / "network.npz")
    if desc.network != state.network:
        raise ArtifactError(f"{run_dir / 'network.npz'}: describes {desc.network!r}, but the checkpoint holds "
                            f"{state.network!r}; re-run `tnpipe train --force`")
    record = load_record(run_dir)
    return TrainedNetwork(model_from_checkpoint(state, device, record), desc, record, device)
