"""Distributed training: one process per rank under torchrun (gloo on CPU, nccl on CUDA).

Each rank holds only its shard of the training set (rows rank, rank + world, ...: class
balance whatever the stored order; tnpipe.train.loop) and trains on a fresh permutation of it
every epoch with DistributedDataParallel; the recipe's batch size is the global one. The
input normalisation and the whole-training-set batch-norm statistics are sums over the ranks
(all_sum), so no process needs the whole set in memory. Only rank 0 writes and evaluates the
test split. Several machines: one torchrun agent per machine, rendezvous on host:port
(README, "Training on several machines").
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


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

    def close(self) -> None:
        """Leave the process group before the process exits: a gloo group left to the
        interpreter's exit can abort one rank ("terminate called without an active
        exception") while the other is still closing its connections."""
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        """t summed over the ranks (a new tensor; on one rank, t itself)."""
        if self.world == 1:
            return t
        out = t.clone()
        torch.distributed.all_reduce(out)
        return out

    def broadcast_object(self, obj):
        """Rank 0's `obj` on every rank (e.g. the precision choice, so all ranks run alike)."""
        if self.world == 1:
            return obj
        box = [obj if self.main else None]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def any_flag(self, flag: bool, device: str = "cpu") -> bool:
        """True on every rank if `flag` is true on any rank (keeps ranks in step on a NaN)."""
        if self.world == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)  # nccl reduces device tensors only
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def wrap(self, model: torch.nn.Module, device: str) -> torch.nn.Module:
        """The module the steps call: DistributedDataParallel over several ranks, else the model."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[self.local_rank] if device.startswith("cuda") else None)


def choose_device(device: str, threads: int) -> tuple[str, Dist]:
    """The device this rank trains on (cuda -> cuda:LOCAL_RANK under torchrun) and its Dist."""
    from tnpipe.errors import TrainingError

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    dist = Dist.setup(device)
    if device == "cuda" and dist.world > 1:
        device = f"cuda:{dist.local_rank}"
    if device.startswith("cuda:"):
        torch.cuda.set_device(torch.device(device))
    if threads > 0:
        torch.set_num_threads(threads)
    return device, dist
