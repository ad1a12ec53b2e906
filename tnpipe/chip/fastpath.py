"""Fast execution of a compiled Program (compile.py), frame-batched, exact.

Two kernels, both bit-exact against the reference engine (tests compare every spike):

* "gemm": signals live in a float32 (n_signals, B) matrix of 0/1. Each core class is one
  GEMM: W^T (K, U) @ X (U, n_cores*B), then spike = (sum >= thr). Exact: every sum is an
  integer far below 2^24.
* "lut" (Four Russians): signals live in a uint8 (n_signals, B) matrix. A class's U inputs
  are cut into bytes; a table holds, for each byte position c and each of its 256 values v,
  the K partial sums  T[256c + v, k] = sum over set bits b of v of W[8c + b, k].  A core's
  sums are then ceil(U/8) table rows added by `embedding_bag(mode="sum")`: 8x fewer
  additions than the GEMM's multiply-adds. The 8 gathered 0/1 rows of a chunk are packed
  8 frames at a time: viewed as int64 words (8 frames each), sum_i row_i << i sets bit i
  of every frame's byte (a 0/1 byte shifted by i < 8 never leaves its byte). Frames are
  processed in batches that are a multiple of 8. Exact: tables hold integers, in bf16
  only when no partial sum can pass 256 (bf16 is exact on integers up to 256), else
  fp16 (2048) or fp32. Eedn maps fold to {-1, 0, +1} weights and fan-in <= 128: bf16.

Signals are renumbered per kernel so that every class writes one contiguous block
(no scatter). Counters per frame come from per-signal weights (compile.py).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from tnpipe.chip.compile import ONE, Program, compile_program
from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.engine import EngineSettings, SimResult

KERNELS = ("gemm", "lut")


def _row_counts(s: torch.Tensor) -> torch.Tensor:
    """Row sums of a 0/1 uint8 (rows, B) matrix, B a multiple of 8 and at most 2040: add
    int64 words (8 frames each; a byte lane reaches at most B/8 <= 255, so no carry),
    then add the 8 lanes."""
    words = s.view(torch.int64).sum(1)
    return words.view(torch.uint8).view(-1, 8).sum(1)


class FastEngine:
    def __init__(self, prog: Program, kernel: str = "lut", device: str = "cpu", piece_cores: int = 64,
                 batch: int = 256, workers: int = 1):
        if kernel not in KERNELS:
            raise ValueError(f"kernel {kernel!r}; expected one of {KERNELS}")
        self.prog, self.kernel, self.device = prog, kernel, torch.device(device)
        self.batch, self.workers = batch, workers   # run()'s defaults
        # lut: a big class runs in pieces of at most `piece_cores` cores that share its table:
        # each piece's working set stays in cache (measured faster than one large operation)
        pieces = []
        for cl in prog.classes:
            step = piece_cores if kernel == "lut" else len(cl.in_ids)
            for r in range(0, len(cl.in_ids), step):
                pieces.append((cl, slice(r, r + step)))
        new, blocks = self._renumber(pieces)
        tables: dict[int, tuple] = {}
        self.steps = [self._step(cl, rows, lo, hi, new, tables) for (cl, rows), (lo, hi) in zip(pieces, blocks, strict=True)]
        self.new = new
        dev = self.device
        self.out_sig = torch.from_numpy(new[prog.out_sig]).to(dev)
        self.out_idx = torch.from_numpy(prog.out_idx).to(dev)
        self.shifts = torch.arange(8, device=dev, dtype=torch.int64).view(1, 1, 8, 1)
        self.last_seconds = 0.0

    def _renumber(self, pieces: list) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Constants and inputs keep their ids; each piece's outputs become one block, in
        the order its kernel writes them (gemm (K, core), lut (core, K)): no scatter."""
        prog = self.prog
        new = np.arange(prog.n_signals, dtype=np.int64)
        nxt = 2 + prog.n_inputs
        blocks = []
        for cl, rows in pieces:
            ids = cl.out_ids[rows].T if self.kernel == "gemm" else cl.out_ids[rows]
            flat = ids.reshape(-1)
            new[flat] = np.arange(nxt, nxt + len(flat))
            blocks.append((nxt, nxt + len(flat)))
            nxt += len(flat)
        self.n_signals = nxt
        return new, blocks

    def _step(self, cl, rows: slice, lo: int, hi: int, new: np.ndarray, tables: dict) -> dict:
        """One piece's tensors: its input ids in the kernel's order, and its weights (gemm)
        or its class's shared table (lut)."""
        dev = self.device
        n, u = cl.in_ids[rows].shape
        k = cl.out_ids.shape[1]
        ins = new[cl.in_ids[rows]]
        step = {"n": n, "u": u, "k": k, "lo": lo, "hi": hi, "thr": torch.from_numpy(cl.thr).to(dev)}
        if self.kernel == "gemm":
            step["in_flat"] = torch.from_numpy(ins.T.reshape(-1).copy()).to(dev)      # u-major, then core
            step["wt"] = torch.from_numpy(cl.weight.T.copy()).to(dev)                  # (K, U)
            step["bias"] = torch.from_numpy(1 - cl.thr[:, None]).to(dev)
            return step
        chunks = -(-u // 8)
        if id(cl) not in tables:
            tables[id(cl)] = self._lut_table(cl, chunks, k)
        pad_ids = np.zeros((n, chunks * 8), dtype=np.int64)                            # pad with signal 0
        pad_ids[:, :u] = ins
        step["chunks"] = chunks
        step["table"], thr = tables[id(cl)]
        step["thr"] = thr if thr is not None else step["thr"]
        step["in_core_major"] = torch.from_numpy(pad_ids.reshape(-1)).to(dev)          # core, then input
        step["offsets"] = (torch.arange(chunks, device=dev, dtype=torch.int32) * 256).view(1, 1, chunks)
        return step

    def _lut_table(self, cl, chunks: int, k: int):
        """T[256c + v, k] = sum over set bits b of v of W[8c + b, k], and the thresholds in
        the table's type when that is exact."""
        u = cl.weight.shape[0]
        wpad = np.zeros((chunks * 8, k), dtype=np.float32)
        wpad[:u] = cl.weight
        bitsv = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float32)  # (256, 8)
        table = np.einsum("vb,cbk->cvk", bitsv, wpad.reshape(chunks, 8, k)).reshape(chunks * 256, k)
        # bf16 holds every integer up to 256 exactly: when no column's |weights| sum past 256,
        # every partial sum is such an integer and the table can be bf16 (half the memory
        # traffic); fp16 likewise up to 2048; else fp32
        reach = float(np.abs(cl.weight).sum(0).max(initial=0.0))
        tdtype = torch.bfloat16 if reach <= 256 else (torch.float16 if reach <= 2048 else torch.float32)
        thr = None
        if tdtype != torch.float32 and np.abs(cl.thr).max(initial=0) <= 256:
            thr = torch.from_numpy(cl.thr).to(tdtype).to(self.device)   # integers <= 256: exact
        return torch.from_numpy(np.ascontiguousarray(table)).to(tdtype).to(self.device), thr

    def _batch(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, n_inputs) 0/1 uint8 -> every signal, (n_signals, B) float32 for gemm,
        (B, n_signals) bool for lut."""
        prog, dev = self.prog, self.device
        b = x.shape[0]
        if self.kernel == "gemm":
            s = torch.empty(self.n_signals, b, dtype=torch.float32, device=dev)
            s[0] = 0
            s[ONE] = 1
            s[2:2 + prog.n_inputs] = x.T
            for st in self.steps:
                n, u = st["n"], st["u"]
                xs = s.index_select(0, st["in_flat"]).view(u, n * b)
                # integer sums: spike = (sum >= thr) = clamp(sum - (thr - 1), 0, 1), written in place
                out = s[st["lo"]:st["hi"]].view(st["k"], n * b)
                torch.addmm(st["bias"], st["wt"], xs, out=out)                           # (K, n*B)
                out.clamp_(0, 1)
            return s
        s = torch.empty(self.n_signals, b, dtype=torch.uint8, device=dev)
        s[0] = 0
        s[ONE] = 1
        s[2:2 + prog.n_inputs] = x.T
        w8 = b // 8
        sbool = s.view(torch.bool)
        for st in self.steps:
            n, c, k = st["n"], st["chunks"], st["k"]
            g = s.index_select(0, st["in_core_major"]).view(torch.int64).view(n, c, 8, w8)   # (n, c, 8, B/8)
            # 8 frames per int64 word; a 0/1 byte shifted by i < 8 stays in its byte, and the
            # shifted rows have disjoint bits, so their sum is their OR: the packed byte
            byte = (g << self.shifts).sum(2).view(torch.uint8).view(n, c, b)
            idx = torch.empty(n, b, c, dtype=torch.int32, device=dev)
            torch.add(byte.transpose(1, 2), st["offsets"], out=idx)                      # (n, B, c) table rows
            out = F.embedding_bag(idx.view(n * b, c), st["table"], mode="sum")           # (n*B, K)
            spk = out.view(n, b, k) >= st["thr"]
            sbool[st["lo"]:st["hi"]].view(n, k, b).copy_(spk.transpose(1, 2))
        return s

    def _run_range(self, x_all: np.ndarray, lo: int, hi: int, batch: int, votes: np.ndarray,
                   keep_signals: bool) -> tuple[torch.Tensor, list]:
        """Frames lo..hi in batches: votes written in place; returns per-signal spike counts."""
        prog, dev = self.prog, self.device
        sig_sum = torch.zeros(self.n_signals, dtype=torch.float64, device=dev)
        kept = []
        for start in range(lo, hi, batch):
            xb = torch.from_numpy(x_all[start:min(start + batch, hi)]).to(dev)
            real = xb.shape[0]
            if self.kernel == "lut" and real % 8:     # lut packs 8 frames per word: pad with silent frames
                xb = torch.cat([xb, torch.zeros(8 - real % 8, xb.shape[1], dtype=xb.dtype, device=dev)])
            s = self._batch(xb)
            b = real
            if b != s.shape[1]:
                s = s[:, :b]                                                             # drop padding frames
            fired = s.index_select(0, self.out_sig).T.to(torch.int64)                    # (B, M)
            fast_count = self.kernel == "lut" and s.is_contiguous()
            per_sig = _row_counts(s) if fast_count else s.sum(1, dtype=torch.int64)
            v = torch.zeros(b, prog.n_outputs, dtype=torch.int64, device=dev)
            v.index_add_(1, self.out_idx, fired)
            votes[start:start + b] = v.cpu().numpy()
            sig_sum += per_sig.double()
            if keep_signals:
                kept.append(s.T.to(torch.uint8).cpu().numpy()[:, self.new])
        return sig_sum, kept

    def warm_up(self) -> float:
        return 0.0

    def run(self, inputs: np.ndarray, batch: int | None = None, keep_signals: bool = False,
            workers: int | None = None) -> SimResult:
        """Simulate every frame. workers > 1 splits the frames over that many Python threads,
        each running single-threaded torch ops (the ops release the GIL): on small operations
        this scales across cores better than torch's own intra-op threads."""
        batch = self.batch if batch is None else batch
        workers = self.workers if workers is None else workers
        x_all = np.ascontiguousarray(inputs, dtype=np.uint8).reshape(len(inputs), -1)
        if self.kernel == "lut":   # 8 frames per packed word; byte-lane counts stay below 256
            batch = max(8, min(2040, batch) // 8 * 8)
        nf = len(x_all)
        votes = np.zeros((nf, self.prog.n_outputs), dtype=np.int64)
        t0 = time.perf_counter()
        workers = max(1, min(int(workers), -(-nf // batch) if nf else 1))
        if workers == 1:
            sig_sum, kept = self._run_range(x_all, 0, nf, batch, votes, keep_signals)
        else:
            sig_sum, kept = self._run_threads(x_all, batch, votes, keep_signals, workers)
        self.last_seconds = time.perf_counter() - t0
        res = counters(self.prog, (sig_sum / max(nf, 1)).cpu().numpy()[self.new], votes, f"fast-{self.kernel}")
        if keep_signals:
            res.recorded["signals"] = np.concatenate(kept, axis=0)                         # (N, program signals)
        return res

    def _run_threads(self, x_all: np.ndarray, batch: int, votes: np.ndarray, keep_signals: bool,
                     workers: int) -> tuple[torch.Tensor, list]:
        from concurrent.futures import ThreadPoolExecutor

        nf = len(x_all)
        per = -(-nf // workers)
        ranges = [(lo, min(nf, lo + per)) for lo in range(0, nf, per)]
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(len(ranges)) as pool:
                parts = list(pool.map(lambda r: self._run_range(x_all, r[0], r[1], batch, votes, keep_signals),
                                      ranges))
        finally:
            torch.set_num_threads(threads)
        return sum(p[0] for p in parts), [k for p in parts for k in p[1]]


def make_lut(cm: CoreMap, device: str, settings: EngineSettings) -> FastEngine:
    """The registry's "lut" entry: a compiled map (UnsupportedMap when it cannot be compiled)."""
    return FastEngine(compile_program(cm), "lut", device, batch=settings.batch, workers=settings.workers)


def make_gemm(cm: CoreMap, device: str, settings: EngineSettings) -> FastEngine:
    """The registry's "gemm" entry: a compiled map as float matrix products."""
    return FastEngine(compile_program(cm), "gemm", device, batch=settings.batch, workers=settings.workers)


def counters(prog: Program, mean: np.ndarray, votes: np.ndarray, engine: str) -> SimResult:
    """SimResult from the mean firing of every program signal per frame (program ids):
    each counter is a sum of per-signal weights (compile.py), so every engine that gives
    the same spikes gives the same counters."""
    t = mean @ np.stack([prog.sop_w, prog.spike_w, prog.hop_w, prog.cross_w, prog.input_w], 1)
    n_cores = prog.stats["cores"]
    cores, sigs, cnt = prog.core_spike
    core_spikes = np.bincount(cores, weights=cnt * mean[sigs], minlength=n_cores)
    sc, ss, sn = prog.core_sop
    core_sops = np.bincount(sc, weights=sn * mean[ss], minlength=n_cores)
    res = SimResult(votes=votes, sops_per_frame=float(t[0]), spikes_per_frame=float(t[1]),
                    hops_per_frame=float(t[2]), crossings_per_frame=float(t[3]),
                    core_spikes_per_frame=core_spikes, busiest_core_sops=float(core_sops.max(initial=0.0)),
                    engine=engine, input_packets_per_frame=float(t[4]),
                    output_packets_per_frame=float(votes.sum()) / max(len(votes), 1))
    res.recorded = {"input_packets_per_frame": float(t[4])}
    return res
