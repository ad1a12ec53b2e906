"""The training loop as a small run object: data and model once, then one epoch at a time.

Per step:
    votes = model(x)                                     (binary spikes all the way)
    loss  = CE(votes * vote_scale / population, y) + gamma/2 * sum_features mean_rate^2
    loss.backward(); optimiser.step(); model.update_trinary()   (clip + hysteresis)

Epoch e's data order (and flips, and dropout) come from seed and e alone, so `--resume`
after a kill ends with the same weights as an uninterrupted run (CPU, same seed). A
wall-clock budget (train.time_budget_min > 0) anneals by time and stops when spent; such
a run is not bit-reproducible (the step it stops at depends on the machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from tnpipe.artifacts.checkpoint import CHECKPOINT_NAME, Checkpoint, ModelArgs
from tnpipe.artifacts.prepared import PreparedDataset, verify_prepared
from tnpipe.errors import DataError, TrainingError
from tnpipe.log import console, err, progress
from tnpipe.netspec import NetworkSpec, parse_network
from tnpipe.nn.inputs import channel_stats, to_float_nchw
from tnpipe.nn.layers import sparsity_penalty
from tnpipe.nn.network import EednNet
from tnpipe.nn.stats import set_full_set_statistics
from tnpipe.train import metrics, schedule
from tnpipe.train.distributed import Dist
from tnpipe.train.interrupt import Stopped, StopRequest
from tnpipe.train.plan import RunPlan

EpochHook = Callable[[int], None]   # called with the epoch just completed (after its checkpoint)

PIPED_EVERY_S = 30.0   # seconds between piped progress lines within an epoch


@dataclass
class EpochSums:
    loss: float = 0.0
    correct: float = 0.0
    seen: int = 0
    rate: float = 0.0
    rate_n: int = 0
    layer_rate: Any = 0.0      # per spiking layer, summed over the tracked batches (a tensor once one is)
    lr: float = 0.0


@dataclass
class TrainingRun:
    plan: RunPlan
    device: str
    dist: Dist
    ds: PreparedDataset
    spec: NetworkSpec
    tensors: dict[str, torch.Tensor]         # x_train (host), x_train/y_train/x_test/y_test on device, y_test (host)
    model: EednNet
    optimizer: torch.optim.Optimizer
    history: list[dict[str, Any]] = field(default_factory=list)
    start_epoch: int = 0
    epochs_done: int = 0
    out_of_time: bool = False
    tensorboard: Any = None                  # a SummaryWriter when train(tensorboard=True)
    stop: StopRequest = field(default_factory=StopRequest)   # SIGINT/SIGTERM, read between steps
    precision: dict[str, Any] = field(default_factory=dict)  # the arithmetic per on-chip layer, for train.json
    pending_log: list[str] = field(default_factory=list)     # train.log lines written when the epochs start
    n_train: int = 0                         # frames in the whole training split (this rank holds a shard)

    # ------------------------------------------------------------------ setting up
    @classmethod
    def start(cls, plan: RunPlan, device: str, dist: Dist, resume: bool, force: bool) -> TrainingRun:
        if not verify_prepared(plan.prep):
            raise DataError(f"{plan.prep}: prepared dataset is incomplete or modified; run `{plan.prepare_hint} --force`")
        ds = PreparedDataset.load(plan.prep, verify=False, mmap=dist.world > 1)
        spec = parse_network(plan.net_text, ds.input_shape, ds.num_classes)
        n_train = len(ds.y["train"])
        shard = slice(dist.rank, None, dist.world)   # this rank's rows only (all rows on one process)
        x_train, x_test = to_float_nchw(np.ascontiguousarray(ds.x["train"][shard])), to_float_nchw(np.array(ds.x["test"]))
        y_train = torch.from_numpy(np.ascontiguousarray(ds.y["train"][shard])).long()
        y_test = torch.from_numpy(np.array(ds.y["test"])).long()
        if tuple(x_train.shape[1:]) != tuple(ds.input_shape):
            raise DataError(f"{plan.prep}: x_train is {tuple(x_train.shape[1:])} per frame; meta.json says {ds.input_shape}")
        model = build_model(spec, plan, x_train, dist.all_sum if dist.world > 1 else None).to(device)
        tensors = {"x_train_host": x_train, "y_test_host": y_test, "x_train": x_train.to(device),
                   "y_train": y_train.to(device), "x_test": x_test.to(device), "y_test": y_test.to(device)}
        run = cls(plan, device, dist, ds, spec, tensors, model, schedule.make_optimizer(model, plan.cfg))
        run.n_train = n_train
        run._resume_or_start(resume, force)
        run.set_precision()
        return run

    def set_precision(self) -> None:
        """The on-chip convolutions' arithmetic (exact forward; nn/precision.py). `auto`: rank 0
        probes (or reads its cache) and broadcasts, so every rank runs the same per layer; the
        choice and its measured times go into train.log and train.json."""
        setting = self.plan.cfg.precision
        choice = None
        if setting in ("auto", "auto_bf16"):
            from tnpipe.nn import probe

            choice = probe.choose(self.spec, self.local_bs, self.device, setting=setting) if self.dist.main else None
            choice = self.dist.broadcast_object(choice)
        as_run = self.model.set_precision(setting, self.device, choice)
        self.precision = choice.to_json() if choice is not None else {"setting": setting,
                                                                      "per_layer": self.model.arithmetics()}
        # logged when the epochs start: the stage moves an earlier run's train.log aside only
        # after everything is built, and these lines belong to the new run's log
        self.pending_log = choice.log_lines() if choice is not None else [f"precision {as_run}"]

    def _resume_or_start(self, resume: bool, force: bool) -> None:
        rd, ckpt_path = self.plan.run_dir, self.plan.run_dir / CHECKPOINT_NAME
        if resume and ckpt_path.is_file() and not force:
            state = Checkpoint.load(ckpt_path, map_location=self.device)
            if state.run_key != self.plan.key:
                raise TrainingError(f"{ckpt_path}: checkpoint was made with other settings (run key {state.run_key}, "
                                    f"now {self.plan.key}); use --force to start over (the old log and "
                                    "checkpoint are moved aside, kept)")
            self.model.load_state_dict(state.model)
            self.optimizer.load_state_dict(state.optimizer)
            self.history, self.start_epoch = list(state.history), int(state.epoch)
            if self.dist.main:
                console.print(f"resuming {rd} after epoch {self.start_epoch}/{self.plan.cfg.epochs}")
        self.epochs_done = self.start_epoch   # an earlier run's files were moved aside by the stage
        if self.dist.main:
            rd.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ geometry of an epoch
    @property
    def per_rank(self) -> int:
        """Frames each rank trains on per epoch: the smallest shard's size (shards differ by <= 1)."""
        return self.n_train // self.dist.world

    @property
    def local_bs(self) -> int:
        return max(1, min(self.plan.cfg.batch_size // self.dist.world, self.per_rank))

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.per_rank // self.local_bs)  # drop the ragged last batch: BN needs a batch

    def checkpoint(self, epoch: int, finished: bool) -> Checkpoint:
        p = self.plan
        return Checkpoint(network=p.net_text, network_name=p.network, input_shape=list(self.ds.input_shape),
                          num_classes=self.ds.num_classes, recipe=p.recipe_dict, run_key=p.key, seed=p.seed,
                          synthetic=p.synthetic, model=self.model.state_dict(),
                          optimizer=self.optimizer.state_dict(), rng=rng_state(self.device), epoch=epoch,
                          finished=finished, history=self.history,
                          model_args=ModelArgs(dropout=p.cfg.dropout, hysteresis=p.cfg.hysteresis,
                                               init_scale=p.cfg.init_scale))

    def log(self, line: str) -> None:
        log_line(self.plan.run_dir, line)

    def full_set_statistics(self) -> None:
        """train.bn_stats = "full": the inference batch-norm statistics of the whole training
        set; every rank runs its shard and the sums are added over the ranks (call on all)."""
        if self.plan.cfg.bn_stats == "full":
            set_full_set_statistics(self.model, self.tensors["x_train_host"], self.plan.cfg.eval_batch_size,
                                    self.device, reduce=self.dist.all_sum if self.dist.world > 1 else None)

    # ------------------------------------------------------------------ the loop
    def run_epochs(self, on_epoch_end: EpochHook | None = None) -> None:
        cfg = self.plan.cfg
        if self.dist.main:
            for line in self.pending_log:
                self.log(line)
        self.pending_log = []
        clock = Clock(cfg.time_budget_min * 60.0, sum(h["seconds"] for h in self.history))
        ddp = self.dist.wrap(self.model, self.device)
        self.model.train()
        for epoch in range(self.start_epoch, cfg.epochs):
            self._stop_if_asked(epoch, 0)
            t0 = time.perf_counter()
            sums = self.train_epoch(epoch, ddp, clock)
            self._stop_if_asked(epoch, sums.seen // self.local_bs)
            if sums.seen == 0:  # the budget ran out before this epoch's first step
                if self.dist.main:
                    self.log(f"time budget of {cfg.time_budget_min:g} min spent: stopped before epoch {epoch + 1}")
                break
            self.end_epoch(epoch, sums, time.perf_counter() - t0)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1)
            if self.out_of_time:
                if self.dist.main:
                    self.log(f"time budget of {cfg.time_budget_min:g} min spent: stopped in epoch {epoch + 1} "
                             f"(* = partial epoch, {sums.seen} frames per process)")
                break

    def _stopping(self) -> bool:
        return self.dist.any_flag(self.stop.requested, self.device) if self.dist.world > 1 else self.stop.requested

    def _stop_if_asked(self, epoch: int, steps_done: int) -> None:
        """Stop (the caller turns this into one line and exit 130) if a signal came; the
        checkpoint on disk holds the last completed epoch, `self.epochs_done`."""
        if self._stopping():
            raise Stopped(self.stop.name, epoch + 1, steps_done, self.steps_per_epoch, self.epochs_done)

    def train_epoch(self, epoch: int, ddp: torch.nn.Module, clock: Clock) -> EpochSums:
        p, steps = self.plan, self.steps_per_epoch
        gen = torch.Generator().manual_seed(p.seed * 1_000_003 + epoch)
        torch.manual_seed(p.seed * 7_919 + epoch * 104_729 + self.dist.rank)  # dropout: a function of (seed, epoch, rank)
        # a permutation of this rank's shard (of the whole set on one process): every rank draws
        # the same one, over different frames
        perm = torch.randperm(len(self.tensors["x_train"]), generator=gen)[: self.per_rank]
        sums = EpochSums()
        bar = progress() if self.dist.main else None
        task = bar.add_task(f"epoch {epoch + 1}/{p.cfg.epochs}", total=steps) if bar else None
        if bar:
            bar.start()
        # piped, the bar is off: a line every PIPED_EVERY_S seconds says where the epoch is
        piped = self.dist.main and not err.is_terminal
        t_epoch = last_line = time.perf_counter()
        try:
            for step in range(steps):
                if piped and time.perf_counter() - last_line >= PIPED_EVERY_S:
                    last_line = time.perf_counter()
                    err.print(f"  epoch {epoch + 1}/{p.cfg.epochs}: step {step}/{steps}, "
                              f"{last_line - t_epoch:.0f} s", highlight=False, markup=False)
                time_frac = clock.fraction()
                if clock.budget_s > 0 and self.dist.any_flag(time_frac >= 1.0, self.device):
                    self.out_of_time = True
                    break
                sums.lr = schedule.lr_at(p.cfg, epoch * steps + step, steps * p.cfg.epochs, time_frac)
                self.step(epoch, step, perm[step * self.local_bs:(step + 1) * self.local_bs], gen, ddp, sums)
                if bar:
                    bar.advance(task)
                if self._stopping():   # the step is whole; abandon the rest of the epoch
                    break
        finally:
            if bar:
                bar.stop()
        return sums

    def step(self, epoch: int, step: int, idx: torch.Tensor, gen: torch.Generator, ddp: torch.nn.Module,
             sums: EpochSums) -> None:
        cfg, model = self.plan.cfg, self.model
        schedule.set_lr(self.optimizer, sums.lr)
        idx = idx.to(self.device)
        xb = schedule.augment(self.tensors["x_train"][idx], cfg.augment if self.ds.kind == "image" else "none", gen)
        yb = self.tensors["y_train"][idx]
        # spike rates: every step when the sparsity penalty needs them, else sampled for the log
        model.track_rates = cfg.sparsity_gamma > 0 or step % 10 == 0
        votes = ddp(xb)
        loss = schedule.loss_fn(votes, yb, cfg.vote_scale / self.spec.votes_per_class)
        if cfg.sparsity_gamma > 0:
            loss = loss + sparsity_penalty(model.rates, cfg.sparsity_gamma)
        if self.dist.any_flag(not bool(torch.isfinite(loss)), self.device):
            kept = (f"{self.plan.run_dir / CHECKPOINT_NAME} still holds the last good state (epoch {epoch})" if epoch
                    else "no epoch had completed, so there is no checkpoint")
            raise TrainingError(f"loss became NaN/inf at epoch {epoch + 1} step {step + 1} (lr {sums.lr:g}); "
                                f"stopped; {kept}; lower train.lr or check the data")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        model.update_trinary()
        with torch.no_grad():
            sums.loss += float(loss) * len(yb)
            sums.correct += float((votes.argmax(1) == yb).sum())
            sums.seen += len(yb)
            if model.track_rates:
                sums.rate += float(torch.cat(model.rates).mean())
                sums.rate_n += 1
                sums.layer_rate = sums.layer_rate + torch.stack([r.mean() for r in model.rates])

    def end_epoch(self, epoch: int, sums: EpochSums, seconds: float) -> None:
        """The epoch's record; on rank 0 also the running-stats test accuracy, metrics.csv's
        row (before the checkpoint: a resume redoes and replaces a row the checkpoint lacks),
        the checkpoint and the log line."""
        cfg = self.plan.cfg
        self.epochs_done = epoch + 1
        record = {"epoch": epoch + 1, "loss": sums.loss / sums.seen, "train_acc": sums.correct / sums.seen,
                  "lr": sums.lr, "spike_rate": sums.rate / max(sums.rate_n, 1), "seconds": seconds,
                  "steps": self.steps_per_epoch, "processes": self.dist.world, "frames_per_process": int(sums.seen),
                  "complete": not self.out_of_time}
        if self.dist.main:
            record["test_acc_running"] = schedule.evaluate(self.model, self.tensors["x_test"], self.tensors["y_test"],
                                                           cfg.eval_batch_size)
            self.history.append(record)
            metrics.log_epoch(self.plan.run_dir, metrics.epoch_row(record, sums.layer_rate, sums.rate_n, self.spec),
                              self.tensorboard)
            self.checkpoint(epoch + 1, False).save(self.plan.run_dir / CHECKPOINT_NAME)
            self.log(f"epoch {epoch + 1:>3}/{cfg.epochs}{'*' if self.out_of_time else ''}  loss {record['loss']:.4f}  "
                     f"train_acc {record['train_acc']:.4f}  test_acc(running-stats) {record['test_acc_running']:.4f}  "
                     f"lr {sums.lr:.3g}  spike_rate {record['spike_rate']:.3f}  {seconds:.1f}s")
        else:
            self.history.append(record)
        self.dist.barrier()


@dataclass
class Clock:
    """Share of a wall-clock budget spent (0 without one), counting earlier runs' epochs."""

    budget_s: float
    spent_before: float
    t0: float = field(default_factory=time.perf_counter)

    def fraction(self) -> float:
        if self.budget_s <= 0:
            return 0.0
        return (self.spent_before + time.perf_counter() - self.t0) / self.budget_s


def build_model(spec: NetworkSpec, plan: RunPlan, x_train: torch.Tensor, reduce=None) -> EednNet:
    """The seeded model with its input normalisation from the training set (`reduce`: the sum
    over the ranks, each holding a shard as `x_train`)."""
    cfg = plan.cfg
    torch.manual_seed(plan.seed)
    model = EednNet(spec, dropout=cfg.dropout, hysteresis=cfg.hysteresis, init_scale=cfg.init_scale)
    for layer in model.spiking_layers():
        layer.bn.momentum = cfg.bn_momentum
    mean, std = channel_stats(x_train, reduce)
    model.in_mean.copy_(mean)
    model.in_std.copy_(std)
    return model


def rng_state(device: str) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def log_line(run_dir, line: str) -> None:
    console.print(line, highlight=False, soft_wrap=True)
    with open(run_dir / "train.log", "a", encoding="utf-8") as f:
        f.write(line + "\n")
