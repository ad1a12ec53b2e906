"""The "popcount" engine: a compiled Program (compile.py) run over bit-packed spikes, exact.

Spikes are bits. Signals live in a uint64 matrix S[w, s]: bit f of word S[w, s] is
signal s in frame 64w + f (64 frames per word, one row of words per 64 frames, so each
thread owns whole rows: no two threads write one cache line but at row ends).

A core class's integer weights are cut into bit planes: W = sum_b 2^b (P_b - N_b), with
P_b, N_b the 0/1 masks of bit b of the positive and negative weights. For one frame, with
x the core's input bits packed into ceil(U/64) words,

    sum_u W[u, k] x_u = sum_b 2^b (popcount(x & P_b[k]) - popcount(x & N_b[k])),

and the neuron spikes when that sum reaches its threshold. Eedn maps fold to weights in
{-1, 0, +1} and U <= 128: one plane pair over two words, four popcounts a neuron a frame.

Per core and 64 frames: gather its U input words (each 64 frames of one signal) and
transpose each 64x64 bit block, giving each frame's inputs as words; then for every
neuron and frame, the popcounts above; the 64 results of one neuron are one output word,
already in signal-major form. A class's masks (K x planes x words) stay in L1 while its
cores run. Threads (numba prange) take rows of 64 frames.

numba is optional: without it `AVAILABLE` is False and the engine refuses to start.
"""

from __future__ import annotations

import time

import numpy as np

from tnpipe.chip.compile import ONE, Program, UnsupportedMap, compile_program
from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.engine import EngineSettings, SimResult
from tnpipe.chip.fastpath import counters

try:
    import numba
    from numba import njit, prange
    from numba.core import types
    from numba.extending import intrinsic

    AVAILABLE = True
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the import safe
    AVAILABLE = False

MAX_WORDS = 4          # U <= 256 signals per core (256 axons)
MAX_BITS = 16          # |folded weight| < 2^16: more planes than that is not worth it

if AVAILABLE:

    @intrinsic
    def _popcnt(typingctx, x):
        """The CPU's popcount of a uint64 (LLVM ctpop)."""
        if x != types.uint64:
            return None

        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return types.uint64(types.uint64), codegen

    @njit(cache=True, inline="always")
    def _transpose64(a):
        """In place: bit c of a[r] <-> bit r of a[c] (a 64x64 bit matrix, LSB = column 0)."""
        j = 32
        m = np.uint64(0x00000000FFFFFFFF)
        while j != 0:
            k = 0
            while k < 64:
                t = ((a[k] >> np.uint64(j)) ^ a[k + j]) & m
                a[k + j] ^= t
                a[k] ^= t << np.uint64(j)
                k = (k + j + 1) & ~j
            j >>= 1
            m ^= m << np.uint64(j)

    @njit(cache=True, parallel=True)
    def _run_kernel(s, cls, in_ids, out_ids, masks, coef, thr):
        """s (rows, n_signals) uint64, inputs and constants filled; computes every class.

        Longer than 60 lines on purpose: it is one numba kernel whose loops must stay in one
        function for the compiler to keep the transposed words and masks in registers and
        L1 (a helper call per neuron and frame would not be inlined across prange)."""
        one = np.uint64(1)
        for w in prange(s.shape[0]):
            row = s[w]
            blk = np.empty(64, dtype=np.uint64)
            xt = np.zeros((MAX_WORDS, 64), dtype=np.uint64)   # xt[q, f]: word q of frame f
            for c in range(cls.shape[0]):
                n, u, nw, k, planes = cls[c, 0], cls[c, 1], cls[c, 2], cls[c, 3], cls[c, 4]
                moff, toff, ioff, ooff = cls[c, 5], cls[c, 6], cls[c, 7], cls[c, 8]
                for i in range(n):
                    base = ioff + i * u
                    for q in range(nw):                    # gather 64 signals, then turn them
                        for r in range(64):
                            j = q * 64 + r
                            blk[r] = row[in_ids[base + j]] if j < u else np.uint64(0)
                        _transpose64(blk)
                        xt[q, :] = blk
                    obase = ooff + i * k
                    if planes == 2 and nw <= 2:            # trinary weights, U <= 128: the Eedn case
                        if nw == 1:
                            xt[1, :] = 0
                        # two neurons per pass over the frames: each frame's words are loaded
                        # once for both, and the two chains overlap (measured 2x one at a time)
                        for kk in range(0, k - 1, 2):
                            mb = moff + kk * 2 * MAX_WORDS
                            p0, p1 = masks[mb], masks[mb + 1]
                            n0, n1 = masks[mb + MAX_WORDS], masks[mb + MAX_WORDS + 1]
                            mb2 = mb + 2 * MAX_WORDS
                            q0, q1 = masks[mb2], masks[mb2 + 1]
                            m0, m1 = masks[mb2 + MAX_WORDS], masks[mb2 + MAX_WORDS + 1]
                            t, t2 = thr[toff + kk], thr[toff + kk + 1]
                            acc, acc2 = np.uint64(0), np.uint64(0)
                            for f in range(64):
                                x0, x1 = xt[0, f], xt[1, f]
                                v = (np.int64(_popcnt(x0 & p0) + _popcnt(x1 & p1))
                                     - np.int64(_popcnt(x0 & n0) + _popcnt(x1 & n1)))
                                v2 = (np.int64(_popcnt(x0 & q0) + _popcnt(x1 & q1))
                                      - np.int64(_popcnt(x0 & m0) + _popcnt(x1 & m1)))
                                acc |= np.uint64(v >= t) << np.uint64(f)
                                acc2 |= np.uint64(v2 >= t2) << np.uint64(f)
                            row[out_ids[obase + kk]] = acc
                            row[out_ids[obase + kk + 1]] = acc2
                        if k % 2:                                  # the last neuron alone
                            kk = k - 1
                            mb = moff + kk * 2 * MAX_WORDS
                            p0, p1 = masks[mb], masks[mb + 1]
                            n0, n1 = masks[mb + MAX_WORDS], masks[mb + MAX_WORDS + 1]
                            t = thr[toff + kk]
                            acc = np.uint64(0)
                            for f in range(64):
                                x0, x1 = xt[0, f], xt[1, f]
                                v = (np.int64(_popcnt(x0 & p0) + _popcnt(x1 & p1))
                                     - np.int64(_popcnt(x0 & n0) + _popcnt(x1 & n1)))
                                acc |= np.uint64(v >= t) << np.uint64(f)
                            row[out_ids[obase + kk]] = acc
                    else:
                        for kk in range(k):
                            mb = moff + kk * planes * MAX_WORDS
                            t = thr[toff + kk]
                            acc = np.uint64(0)
                            for f in range(64):
                                v = np.int64(0)
                                for p in range(planes):
                                    cnt = np.int64(0)
                                    for q in range(nw):
                                        cnt += np.int64(_popcnt(xt[q, f] & masks[mb + p * MAX_WORDS + q]))
                                    v += coef[p] * cnt
                                if v >= t:
                                    acc |= one << np.uint64(f)
                            row[out_ids[obase + kk]] = acc


if AVAILABLE:

    @njit(cache=True, parallel=True)
    def _pack_kernel(x, s, first):
        """x (B, n_inputs) uint8 0/1 -> s[w, first + i] bit f = x[64w + f, i]; s[w, 0] = 0 and
        s[w, 1] = the row's real frames (the constant 1 signal, silent in padding frames)."""
        b, n_in = x.shape
        for w in prange(s.shape[0]):
            lo = w * 64
            hi = min(b, lo + 64)
            for i in range(n_in):
                s[w, first + i] = 0
            for f in range(lo, hi):
                bit = np.uint64(f - lo)
                for i in range(n_in):
                    s[w, first + i] |= np.uint64(x[f, i]) << bit
            s[w, 0] = 0
            s[w, 1] = np.uint64(0xFFFFFFFFFFFFFFFF) if hi - lo == 64 else (np.uint64(1) << np.uint64(hi - lo)) - np.uint64(1)

    @njit(cache=True, parallel=True)
    def _count_kernel(s, counts):
        """counts[c] += set bits of column c over real frames (padding frames masked off)."""
        rows, cols = s.shape
        step = 4096
        for blk in prange(-(-cols // step)):
            lo = blk * step
            hi = min(cols, lo + step)
            for w in range(rows):
                valid = s[w, 1]
                for c in range(lo, hi):
                    counts[c] += np.int64(_popcnt(s[w, c] & valid))


def _planes(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer weights (U, K) -> masks (K, planes, MAX_WORDS) uint64 and coef (planes,):
    planes 2b and 2b+1 hold bit b of the positive and of the negative weights."""
    u, k = weight.shape
    top = int(np.abs(weight).max(initial=0))
    nbits = max(1, top.bit_length())
    if nbits > MAX_BITS:
        raise UnsupportedMap(f"a folded weight of {top} needs {nbits} bit planes (limit {MAX_BITS})")
    bits = np.zeros((k, 2 * nbits, MAX_WORDS * 64), dtype=np.uint8)
    pos, neg = np.maximum(weight, 0).T, np.maximum(-weight, 0).T                # (K, U)
    for b in range(nbits):
        bits[:, 2 * b, :u] = (pos >> b) & 1
        bits[:, 2 * b + 1, :u] = (neg >> b) & 1
    masks = np.packbits(bits, axis=-1, bitorder="little").view(np.uint64)       # (K, planes, MAX_WORDS)
    coef = np.array([s * (1 << b) for b in range(nbits) for s in (1, -1)], dtype=np.int64)
    return masks, coef


class PopcountEngine:
    """Runs one Program on bit-packed spikes with numba; same results as FastEngine."""

    def __init__(self, prog: Program, batch: int = 1024):
        if not AVAILABLE:
            raise UnsupportedMap("the popcount engine needs numba, which is not installed")
        self.prog, self.batch = prog, batch   # batch: run()'s default
        rows, ins, outs, masks, thrs = [], [], [], [], []
        moff = toff = ioff = ooff = 0
        coef_all: np.ndarray | None = None
        for cl in prog.classes:
            n, u = cl.in_ids.shape
            k = cl.out_ids.shape[1]
            if u > MAX_WORDS * 64:
                raise UnsupportedMap(f"a core reads {u} signals (limit {MAX_WORDS * 64})")
            w = np.rint(cl.weight).astype(np.int64)
            t = np.rint(cl.thr).astype(np.int64)
            if (w != cl.weight).any() or (t != cl.thr).any():
                raise UnsupportedMap("a folded weight or threshold is not an integer")
            m, coef = _planes(w)
            # one coefficient list for all classes: the longest (planes beyond a class's are unused)
            if coef_all is None or len(coef) > len(coef_all):
                coef_all = coef
            planes = m.shape[1]
            rows.append((n, u, -(-u // 64), k, planes, moff, toff, ioff, ooff))
            masks.append(m.reshape(-1))
            thrs.append(t)
            ins.append(cl.in_ids.reshape(-1))
            outs.append(cl.out_ids.reshape(-1))
            moff += m.size
            toff += k
            ioff += n * u
            ooff += n * k

        def cat(parts, dt):
            return np.ascontiguousarray(np.concatenate(parts), dtype=dt) if parts else np.zeros(0, dtype=dt)
        self.cls = np.array(rows, dtype=np.int64).reshape(-1, 9)
        self.in_ids, self.out_ids = cat(ins, np.int64), cat(outs, np.int64)
        self.masks, self.thr = cat(masks, np.uint64), cat(thrs, np.int64)
        self.coef = coef_all if coef_all is not None else np.zeros(2, dtype=np.int64)
        self.last_seconds = 0.0

    def warm_up(self) -> float:
        """Seconds to run the kernels once on one silent frame: numba's compile, or its load
        from the on-disk cache (`cache=True`: __pycache__, else the user's cache folder)."""
        t0 = time.perf_counter()
        self.run(np.zeros((1, self.prog.n_inputs), dtype=np.uint8), batch=64)
        return time.perf_counter() - t0

    def _pack(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """x (B, n_inputs) {0,1} -> S (ceil(B/64), n_signals) uint64 with inputs and constants."""
        b = x.shape[0]
        # every other signal is written by the class that computes it: no zeroing needed
        s = np.empty((-(-b // 64), self.prog.n_signals), dtype=np.uint64)
        _pack_kernel(x, s, 2)
        return s, b

    def run(self, inputs: np.ndarray, batch: int | None = None, keep_signals: bool = False,
            workers: int | None = None) -> SimResult:
        """Simulate every frame, `batch` frames (rounded up to 64) per kernel call, on
        `workers` numba threads (None: numba's default)."""
        prog = self.prog
        x_all = np.ascontiguousarray(inputs, dtype=np.uint8).reshape(len(inputs), -1)
        nf = len(x_all)
        batch = max(64, -(-int(self.batch if batch is None else batch) // 64) * 64)
        votes = np.zeros((nf, prog.n_outputs), dtype=np.int64)
        onehot = np.zeros((len(prog.out_sig), prog.n_outputs))        # float64 BLAS: exact on counts
        onehot[np.arange(len(prog.out_sig)), prog.out_idx] = 1
        sig_sum = np.zeros(prog.n_signals, dtype=np.int64)
        kept = []
        before = numba.get_num_threads()
        if workers is not None:
            numba.set_num_threads(max(1, min(int(workers), numba.config.NUMBA_NUM_THREADS)))
        t0 = time.perf_counter()
        try:
            for start in range(0, nf, batch):
                s, b = self._pack(x_all[start:start + batch])
                _run_kernel(s, self.cls, self.in_ids, self.out_ids, self.masks, self.coef, self.thr)
                _count_kernel(s, sig_sum)                   # padding frames masked off
                fired = self._frames(s[:, prog.out_sig] & s[:, ONE:ONE + 1], b)       # (b, M)
                votes[start:start + b] = fired.astype(np.float64) @ onehot
                if keep_signals:
                    kept.append(self._frames(s & s[:, ONE:ONE + 1], b))
        finally:
            numba.set_num_threads(before)
        self.last_seconds = time.perf_counter() - t0
        res = counters(prog, sig_sum / max(nf, 1), votes, "fast-popcount")
        if keep_signals:
            res.recorded["signals"] = np.concatenate(kept, axis=0)                     # (N, program signals)
        return res

    @staticmethod
    def _frames(words: np.ndarray, b: int) -> np.ndarray:
        """(rows, cols) uint64, 64 frames a word -> (b, cols) uint8 0/1, one row per frame."""
        bits = np.unpackbits(np.ascontiguousarray(words.T).view(np.uint8), axis=1, bitorder="little")
        return np.ascontiguousarray(bits[:, :b].T)


def make(cm: CoreMap, device: str, settings: EngineSettings) -> PopcountEngine:
    """The registry's "popcount" entry: CPU only, needs numba (UnsupportedMap without it)."""
    if not AVAILABLE:   # before compiling: the refusal costs nothing
        raise UnsupportedMap("the popcount engine needs numba, which is not installed")
    return PopcountEngine(compile_program(cm), batch=max(settings.batch, 1024))
