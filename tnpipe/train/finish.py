"""The end of training: export, accuracies, the TrainingRecord.

After the whole-training-set batch-norm statistics (`train.bn_stats = "full"`, the paper's;
TrainingRun.full_set_statistics, on every rank, each over its shard): export
of `network.npz` (the integer NetworkDescription), hardware-mode and float-graph test
accuracy, the finished checkpoint and `train.json`. The run's figure is the HARDWARE-MODE
test accuracy.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from tnpipe.artifacts.checkpoint import CHECKPOINT_NAME
from tnpipe.artifacts.training import TrainingRecord
from tnpipe.chip.config import ChipCfg
from tnpipe.nn.hardware import export_description, hardware_votes
from tnpipe.train.loop import TrainingRun


@torch.no_grad()
def _test_spikes_and_float_predictions(run: TrainingRun) -> tuple[np.ndarray, np.ndarray]:
    model, x, bs = run.model, run.tensors["x_test"], run.plan.cfg.eval_batch_size
    spikes, float_votes = [], []
    for i in range(0, len(x), bs):
        sp = model.transduce(x[i:i + bs])
        spikes.append(sp.to(torch.uint8).cpu())
        float_votes.append(model.readout(model.chip_forward(sp)).cpu())
    return torch.cat(spikes).numpy(), torch.cat(float_votes).argmax(1).numpy()


def finish(run: TrainingRun, seconds_so_far: float) -> TrainingRecord:
    """Rank 0 only, after run.full_set_statistics() on every rank: export the trained network
    and write its TrainingRecord."""
    t0 = time.perf_counter()
    plan, cfg, model = run.plan, run.plan.cfg, run.model
    model.eval()   # whole-set statistics: run.full_set_statistics(), on every rank, before this
    desc = export_description(model)
    spikes, float_pred = _test_spikes_and_float_predictions(run)
    hw_pred = hardware_votes(desc, spikes, cfg.eval_batch_size, run.device).argmax(1)
    y = run.tensors["y_test_host"].numpy()
    n = len(y)
    hw_acc = float((hw_pred == y).mean()) if n else 0.0
    float_acc = float((float_pred == y).mean()) if n else 0.0
    agreement = float((hw_pred == float_pred).mean()) if n else 1.0
    desc.save(plan.run_dir / "network.npz")
    run.checkpoint(run.epochs_done, True).save(plan.run_dir / CHECKPOINT_NAME)
    record = TrainingRecord(
        dataset=run.ds.name, network=plan.network, network_text=plan.net_text, synthetic=plan.synthetic,
        prepared_dir=str(plan.prep), run_key=plan.key, seed=plan.seed, test_frames=int(n),
        hw_test_acc=hw_acc, float_test_acc=float_acc, agreement=agreement,
        test_acc_running_stats=run.history[-1].get("test_acc_running") if run.history else None,
        epochs=run.epochs_done, epochs_planned=cfg.epochs, time_budget_min=cfg.time_budget_min,
        seconds=seconds_so_far + (time.perf_counter() - t0), bn_stats=cfg.bn_stats,
        train=plan.cfg, chip=ChipCfg(**plan.recipe_dict["chip"]), history=run.history,
        stand_in="" if plan.synthetic else run.ds.stand_in, precision=run.precision,
    )
    record.save(plan.run_dir)
    run.log(f"done  hw_test_acc {hw_acc:.4f}  float_test_acc {float_acc:.4f}  agreement {agreement:.4f}  "
            f"({n} test frames, {record.seconds:.1f}s)  -> {plan.run_dir}")
    return record
