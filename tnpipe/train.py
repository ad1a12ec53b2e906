"""Stage 2, `tnpipe train`: a PreparedDataset + a recipe network -> a trained Eedn network.

One file, top to bottom (nanoGPT style): settings -> data -> model -> optimiser -> loop ->
finish. Per step:

    votes = model(x)                                     (binary spikes all the way)
    loss  = CE(votes * vote_scale / population, y) + gamma/2 * sum_features mean_rate^2
    loss.backward(); optimiser.step(); model.update_trinary()   (clip + hysteresis)

Every epoch ends with one log line (stdout and `train.log`) and an atomic `checkpoint.pt`.
Epoch e's data order (and flips, and dropout) come from seed and e alone, so `--resume`
after a kill ends with the same weights as an uninterrupted run (CPU, same seed).

At the end: whole-training-set batch-norm statistics, export of `network.npz` (the integer
NetworkDescription), hardware-mode and float-graph test accuracy, and `train.json`. The
final figure is the HARDWARE-MODE test accuracy.

Optional wall-clock budget (`train.time_budget_min`, used by the `cpu` networks): the
schedule's progress is max(steps done / steps planned, time spent / budget), and training
stops when the budget is spent; such a run is not bit-reproducible.

Distributed: under `torchrun --nproc-per-node N -m tnpipe train ...` each rank trains on
its shard of every epoch's permutation with DistributedDataParallel (gloo on CPU, nccl on
CUDA); the batch size in the recipe is the global one; only rank 0 writes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tnpipe import paths
from tnpipe.artifacts import PreparedDataset, read_prepared_meta, verify_prepared
from tnpipe.atomic import write_json
from tnpipe.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from tnpipe.data import DATASET_NAMES, get_dataset
from tnpipe.errors import DataError, TrainingError
from tnpipe.log import console, progress
from tnpipe.netspec import parse_network
from tnpipe.nn.hardware import export_description, hardware_votes
from tnpipe.nn.inputs import channel_stats, to_float_nchw
from tnpipe.nn.layers import sparsity_penalty
from tnpipe.nn.network import EednNet
from tnpipe.nn.stats import set_full_set_statistics
from tnpipe.recipe import load_recipe
from tnpipe.train_config import TrainCfg

STOP_AFTER_ENV = "TNPIPE_TRAIN_STOP_AFTER_EPOCH"  # tests: simulate a kill after epoch N's checkpoint


# ------------------------------------------------------------------------------ distributed


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def setup(cls, device: str) -> Dist:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch.distributed as dist

        d = cls(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
        return d

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def any_flag(self, flag: bool, device: str = "cpu") -> bool:
        """True on every rank if `flag` is true on any rank (keeps ranks in step on a NaN)."""
        if self.world == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)  # nccl reduces device tensors only
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)


# ---------------------------------------------------------------------------------- pieces


def lr_at(cfg: TrainCfg, step: int, total: int, time_frac: float = 0.0) -> float:
    """'step': lr / 10^(drops passed) [EEDN: dropped 10x twice]; 'cosine': half a cosine.

    Progress is the share of steps done, or, with a wall-clock budget, the share of the
    budget spent if that is larger (so the schedule completes when the budget does)."""
    frac = min(1.0, max(step / max(total, 1), time_frac))
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * frac))
    return cfg.lr * 0.1 ** sum(frac >= f for f in cfg.lr_drops)


def _loss_fn(votes: torch.Tensor, y: torch.Tensor, scale: float) -> torch.Tensor:
    """Cross-entropy on the votes, scaled so a class whose whole population fires has logit
    `vote_scale` (spike counts are 0..population: unscaled they saturate the softmax)."""
    return F.cross_entropy(votes * scale, y)


def make_optimizer(model: EednNet, cfg: TrainCfg) -> torch.optim.Optimizer:
    """Weight decay (EEDN: 4+ chip networks only) applies to weights, never to the biases."""
    weights = [model.transduction.conv.weight] + [layer.conv.hidden for layer in model.chip]
    biases = [layer.bn.bias for layer in model.spiking_layers()]
    groups = [{"params": weights, "weight_decay": cfg.weight_decay}, {"params": biases, "weight_decay": 0.0}]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999))
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)


def augment(x: torch.Tensor, kind: str, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips, and for 'flipcrop' shifts of up to 4 pixels (zero padded)."""
    if kind == "none":
        return x
    n, c, h, w = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.to(x.device).view(n, 1, 1, 1), x.flip(3), x)
    if kind == "flipcrop":
        pad = 4
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(x.device)
        xp = F.pad(x, (pad, pad, pad, pad))
        rows = (torch.arange(h, device=x.device).view(1, h) + dy.view(n, 1)).view(n, 1, h, 1)
        cols = (torch.arange(w, device=x.device).view(1, w) + dx.view(n, 1)).view(n, 1, 1, w)
        x = xp[torch.arange(n, device=x.device).view(n, 1, 1, 1), torch.arange(c, device=x.device).view(1, c, 1, 1),
               rows, cols]
    return x


@torch.no_grad()
def evaluate(model: EednNet, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    """Float-graph accuracy in inference mode (the BN buffers as they stand)."""
    was = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    model.train(was)
    return correct / max(len(x), 1)


def run_key(recipe_dict: dict[str, Any], network_text: str, seed: int, synthetic: bool,
            prepared_meta: dict[str, Any]) -> str:
    """Everything that defines a run's outcome (not the device or the process count)."""
    # settings that change speed, not the outcome, stay out (threads, eval batch)
    train_cfg = {k: v for k, v in recipe_dict["train"].items()
                 if k not in ("per_network", "threads", "eval_batch_size")}
    blob = json.dumps({"data": recipe_dict["data"], "train": train_cfg, "network": network_text,
                       "seed": seed, "synthetic": synthetic, "prepared": prepared_meta.get("files")},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _finished_run(rd: Path, key: str) -> bool:
    try:
        meta = json.loads((rd / "train.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return bool(meta.get("finished")) and meta.get("run_key") == key and (rd / "network.npz").is_file()


def _log(rd: Path, line: str) -> None:
    console.print(line, highlight=False, soft_wrap=True)
    with open(rd / "train.log", "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _rng_state(device: str) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state()
    return state


# ------------------------------------------------------------------------------------ train


def train(recipe_path: Path, network: str, overrides: Sequence[str] = (), device: str = "cpu",
          seed: int | None = None, resume: bool = False, synthetic: bool = False, layers: str | None = None,
          force: bool = False) -> Path:
    """Train `network` of the recipe (or the `layers` string) and return the run directory."""
    t_start = time.perf_counter()
    recipe = load_recipe(Path(recipe_path), list(overrides))
    cfg = recipe.train.for_network(network, list(overrides), f"{recipe.path} [train]")
    cfg.validate(f"{recipe.path} [train]")
    seed = cfg.seed if seed is None else int(seed)
    net_text = layers if layers is not None else recipe.network(network)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    dist = Dist.setup(device)
    if device == "cuda" and dist.world > 1:
        device = f"cuda:{dist.local_rank}"
    if device.startswith("cuda:"):
        torch.cuda.set_device(torch.device(device))
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)

    # --- the network against the chip, before any data is read ------------------------
    # (a fan-in or token error should not wait for a prepared dataset to exist)
    name = recipe.data.name
    if name in DATASET_NAMES:  # a test may train on an ad-hoc prepared set; it is checked after loading
        source = get_dataset(name)
        parse_network(net_text, source.input_shape(recipe.data), source.num_classes)

    # --- data -------------------------------------------------------------------------
    prep = paths.prepared_dir(name, synthetic)
    if not (prep / "meta.json").is_file():
        flag = " --synthetic" if synthetic else ""
        raise DataError(f"{prep}: prepared dataset not found; run `tnpipe prepare {name}{flag}` first")
    pmeta = read_prepared_meta(prep)
    rd = paths.run_dir(name, network, synthetic)
    recipe_dict = recipe.to_dict()
    recipe_dict["train"] = asdict(cfg)  # the settings this network actually trains with
    key = run_key(recipe_dict, net_text, seed, synthetic, pmeta)
    if not force and _finished_run(rd, key):
        if dist.main:
            console.print(f"{rd}: already trained with these settings (train.json); skipped (use --force to redo)")
        return rd
    if not verify_prepared(prep):
        raise DataError(f"{prep}: prepared dataset is incomplete or modified; run `tnpipe prepare {name}"
                        f"{' --synthetic' if synthetic else ''} --force`")
    ds = PreparedDataset.load(prep, verify=False)
    spec = parse_network(net_text, ds.input_shape, ds.num_classes)
    x_train, x_test = to_float_nchw(ds.x["train"]), to_float_nchw(ds.x["test"])
    y_train, y_test = torch.from_numpy(ds.y["train"]).long(), torch.from_numpy(ds.y["test"]).long()
    if tuple(x_train.shape[1:]) != tuple(ds.input_shape):
        raise DataError(f"{prep}: x_train is {tuple(x_train.shape[1:])} per frame; meta.json says {ds.input_shape}")

    # --- model, optimiser, state ------------------------------------------------------
    torch.manual_seed(seed)
    model = EednNet(spec, dropout=cfg.dropout, hysteresis=cfg.hysteresis, init_scale=cfg.init_scale)
    for layer in model.spiking_layers():
        layer.bn.momentum = cfg.bn_momentum
    mean, std = channel_stats(x_train)
    model.in_mean.copy_(mean)
    model.in_std.copy_(std)
    model.to(device)
    model.set_precision(cfg.precision, device)  # on-chip convs' operands (exact forward; tnpipe.nn.precision)
    optimizer = make_optimizer(model, cfg)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    ckpt_path = rd / CHECKPOINT_NAME
    if resume and ckpt_path.is_file() and not force:
        state = load_checkpoint(ckpt_path, map_location=device)
        if state.get("run_key") != key:
            raise TrainingError(f"{ckpt_path}: checkpoint was made with other settings (run key {state.get('run_key')}, "
                                f"now {key}); drop --resume or use --force to start over")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, start_epoch = list(state["history"]), int(state["epoch"])
        if dist.main:
            console.print(f"resuming {rd} after epoch {start_epoch}/{cfg.epochs}")
    elif dist.main and ckpt_path.is_file() and not force:
        console.print(f"{ckpt_path}: an earlier run's checkpoint is there; starting over "
                      "(use --resume to continue an unfinished run with the same settings)")
    if dist.main:
        rd.mkdir(parents=True, exist_ok=True)
        if start_epoch == 0 and (rd / "train.log").exists():
            (rd / "train.log").unlink()

    ddp = model
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(model, device_ids=[dist.local_rank] if device.startswith("cuda") else None)

    x_train_d, y_train_d = x_train.to(device), y_train.to(device)
    x_test_d, y_test_d = x_test.to(device), y_test.to(device)
    n = len(x_train)
    per_rank = n // dist.world
    local_bs = max(1, min(cfg.batch_size // dist.world, per_rank))
    steps_per_epoch = max(1, per_rank // local_bs)  # drop the ragged last batch: BN needs a batch
    total_steps = steps_per_epoch * cfg.epochs
    population = spec.votes_per_class
    scale = cfg.vote_scale / population

    def checkpoint_state(epoch: int, finished: bool) -> dict[str, Any]:
        return {"network": net_text, "network_name": network, "input_shape": list(ds.input_shape),
                "num_classes": ds.num_classes, "recipe": recipe_dict, "run_key": key, "seed": seed,
                "synthetic": synthetic, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "rng": _rng_state(device), "epoch": epoch, "finished": finished, "history": history}

    # --- loop ---------------------------------------------------------------------------
    # A wall-clock budget (train.time_budget_min > 0) anneals by time and stops when spent;
    # such a run is not bit-reproducible (the step it stops at depends on the machine).
    budget_s = cfg.time_budget_min * 60.0
    spent_before = sum(h["seconds"] for h in history)
    t_loop = time.perf_counter()
    out_of_time = False
    epochs_done = start_epoch
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        torch.manual_seed(seed * 7_919 + epoch * 104_729 + dist.rank)  # dropout: a function of (seed, epoch, rank)
        perm = torch.randperm(n, generator=gen)[: per_rank * dist.world][dist.rank::dist.world]
        loss_sum = correct = seen = 0.0
        rate_sum, rate_n = 0.0, 0
        bar = progress() if dist.main else None
        task = bar.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=steps_per_epoch) if bar else None
        if bar:
            bar.start()
        try:
            for step in range(steps_per_epoch):
                time_frac = (spent_before + time.perf_counter() - t_loop) / budget_s if budget_s > 0 else 0.0
                if budget_s > 0 and dist.any_flag(time_frac >= 1.0, device):
                    out_of_time = True
                    break
                lr = lr_at(cfg, epoch * steps_per_epoch + step, total_steps, time_frac)
                for g in optimizer.param_groups:
                    g["lr"] = lr
                idx = perm[step * local_bs:(step + 1) * local_bs].to(device)
                xb = augment(x_train_d[idx], cfg.augment if ds.kind == "image" else "none", gen)
                yb = y_train_d[idx]
                # spike rates: every step when the sparsity penalty needs them, else sampled for the log
                model.track_rates = cfg.sparsity_gamma > 0 or step % 10 == 0
                votes = ddp(xb)
                loss = _loss_fn(votes, yb, scale)
                if cfg.sparsity_gamma > 0:
                    loss = loss + sparsity_penalty(model.rates, cfg.sparsity_gamma)
                if dist.any_flag(not bool(torch.isfinite(loss)), device):
                    kept = (f"{ckpt_path} still holds the last good state (epoch {epoch})" if epoch
                            else "no epoch had completed, so there is no checkpoint")
                    raise TrainingError(f"loss became NaN/inf at epoch {epoch + 1} step {step + 1} (lr {lr:g}); "
                                        f"stopped; {kept}; lower train.lr or check the data")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                model.update_trinary()
                with torch.no_grad():
                    loss_sum += float(loss) * len(yb)
                    correct += float((votes.argmax(1) == yb).sum())
                    seen += len(yb)
                    if model.track_rates:
                        rate_sum += float(torch.cat(model.rates).mean())
                        rate_n += 1
                if bar:
                    bar.advance(task)
        finally:
            if bar:
                bar.stop()
        if seen == 0:  # the budget ran out before this epoch's first step
            if dist.main:
                _log(rd, f"time budget of {cfg.time_budget_min:g} min spent: stopped before epoch {epoch + 1}")
            break
        epochs_done = epoch + 1
        record = {"epoch": epoch + 1, "loss": loss_sum / seen, "train_acc": correct / seen, "lr": lr,
                  "spike_rate": rate_sum / max(rate_n, 1), "seconds": time.perf_counter() - t0,
                  "steps": steps_per_epoch, "processes": dist.world, "frames_per_process": int(seen),
                  "complete": not out_of_time}
        if dist.main:
            record["test_acc_running"] = evaluate(model, x_test_d, y_test_d, cfg.eval_batch_size)
            history.append(record)
            save_checkpoint(ckpt_path, checkpoint_state(epoch + 1, False))
            _log(rd, f"epoch {epoch + 1:>3}/{cfg.epochs}{'*' if out_of_time else ''}  loss {record['loss']:.4f}  "
                     f"train_acc {record['train_acc']:.4f}  test_acc(running-stats) {record['test_acc_running']:.4f}  "
                     f"lr {lr:.3g}  spike_rate {record['spike_rate']:.3f}  {record['seconds']:.1f}s")
        else:
            history.append(record)
        dist.barrier()
        if os.environ.get(STOP_AFTER_ENV) == str(epoch + 1):
            raise KeyboardInterrupt(f"{STOP_AFTER_ENV}={epoch + 1}")
        if out_of_time:
            if dist.main:
                _log(rd, f"time budget of {cfg.time_budget_min:g} min spent: stopped in epoch {epoch + 1} "
                         f"(* = partial epoch, {int(seen)} frames per process)")
            break

    # --- finish: inference statistics, export, hardware-mode accuracy ---------------------
    if dist.main:
        _finish(rd, model, cfg, ds, x_train, x_test_d, y_test, device, history, network, net_text, synthetic,
                prep, key, seed, time.perf_counter() - t_start, checkpoint_state, epochs_done)
    dist.barrier()
    return rd


def _finish(rd: Path, model: EednNet, cfg: TrainCfg, ds: PreparedDataset, x_train: torch.Tensor,
            x_test_d: torch.Tensor, y_test: torch.Tensor, device: str, history: list, network: str,
            net_text: str, synthetic: bool, prep: Path, key: str, seed: int, seconds: float, checkpoint_state,
            epochs_done: int) -> None:
    t0 = time.perf_counter()
    if cfg.bn_stats == "full":
        set_full_set_statistics(model, x_train, cfg.eval_batch_size, device)
    model.eval()
    desc = export_description(model)
    with torch.no_grad():
        spikes, float_votes = [], []
        for i in range(0, len(x_test_d), cfg.eval_batch_size):
            sp = model.transduce(x_test_d[i:i + cfg.eval_batch_size])
            spikes.append(sp.to(torch.uint8).cpu())
            float_votes.append(model.readout(model.chip_forward(sp)).cpu())
    spikes_np = torch.cat(spikes).numpy()
    float_pred = torch.cat(float_votes).argmax(1).numpy()
    hw_pred = hardware_votes(desc, spikes_np, cfg.eval_batch_size, device).argmax(1)
    y = y_test.numpy()
    hw_acc = float((hw_pred == y).mean()) if len(y) else 0.0
    float_acc = float((float_pred == y).mean()) if len(y) else 0.0
    agreement = float((hw_pred == float_pred).mean()) if len(y) else 1.0
    desc.save(rd / "network.npz")
    save_checkpoint(rd / CHECKPOINT_NAME, checkpoint_state(epochs_done, True))
    meta = {
        "dataset": ds.name, "network": network, "network_text": net_text, "synthetic": synthetic,
        "stand_in": "" if synthetic else ds.stand_in,
        "prepared_dir": str(prep), "test_frames": int(len(y)),
        "hw_test_acc": hw_acc, "float_test_acc": float_acc, "agreement": agreement,
        "test_acc_running_stats": history[-1].get("test_acc_running") if history else None,
        "epochs": epochs_done, "epochs_planned": cfg.epochs, "time_budget_min": cfg.time_budget_min,
        "seconds": seconds + (time.perf_counter() - t0), "finished": True,
        "bn_stats": cfg.bn_stats, "seed": seed, "run_key": key,
        "train": asdict(cfg), "history": history,
    }
    write_json(rd / "train.json", meta)
    _log(rd, f"done  hw_test_acc {hw_acc:.4f}  float_test_acc {float_acc:.4f}  agreement {agreement:.4f}  "
             f"({len(y)} test frames, {meta['seconds']:.1f}s)  -> {rd}")


__all__ = ["train", "lr_at", "evaluate", "run_key", "Dist"]
