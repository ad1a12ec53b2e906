"""The reference engine: a tick-stepped TrueNorth over ANY CoreMap (it knows nothing of layers).

Per tick t, for every core (vectorised over cores and over B independent chip instances):

 1. A_i(t) = scheduler row t mod 16 (one bit per axon; two spikes onto one axon in one
    tick set the same bit once), then the row is cleared.
 2. Integrate, leak, fire (reference section 2.3, deterministic):
        V_j += sum_i A_i(t) * w_ij * s_j^{G_i}          (synaptic events: A_i AND w_ij)
        V_j += leak_j
        if V_j >= alpha_j:  spike; gamma 0: V_j = R_j; 1: V_j -= alpha_j; 2: unchanged
        elif V_j < -beta_j: kappa 1: V_j = -beta_j (saturate: the floor)
                            kappa 0 (bounce): gamma 0: V_j = -R_j; 1: V_j += beta_j; 2: unchanged
        V_j is then clamped to the 20-bit signed range (tnpipe's choice; UNCONFIRMED on hardware).
 3. Route: a spike of neuron j sets scheduler row (t + delay_j) mod 16 at its target
    (core, axon); off-chip targets add one to their output (vote) counter.
 4. External inputs of tick t are written the same way through the input wiring.

Frames are pipelined, one per tick: stream b receives its frames at ticks 0, 1, 2, ...; a
frame injected at tick t has its votes at tick t + latency_ticks.

Counters are per frame, exactly, as in the compiled engines: core c works on frame f of a
stream at tick f + arrival[c], where arrival[c] (`arrival_ticks`) is the earliest tick a
frame's spikes can reach c over the map's delays. Each tick's synaptic events, spikes,
hops and chip crossings of core c are added to that frame; ticks at which a core holds
no real frame (warm-up before its first frame, drain after its last, padding frames)
are not counted. Unused neurons (target UNUSED) are not evaluated.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
import torch

from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.engine import EngineSettings, SimResult

SLOTS = 16   # scheduler rows: delays 1..15 plus the current tick


def arrival_ticks(cm: CoreMap) -> np.ndarray:
    """int64 (n_cores,): the earliest tick a frame entering at tick 0 reaches each core
    (shortest path over the input wiring's and the neurons' delays). A core no input
    reaches runs on its own clock: it starts at tick 0 (as do the cores it feeds, plus
    their delays)."""
    a, n, nn = cm.arrays, cm.n_cores, cm.spec.neurons
    tc = a["target_core"].astype(np.int64).ravel()
    on = tc >= 0
    src = np.repeat(np.arange(n), nn)[on]
    key = src * n + tc[on]
    order = np.lexsort((a["target_delay"].astype(np.int64).ravel()[on], key))    # by edge, then delay
    key = key[order]
    first = np.flatnonzero(np.r_[True, np.diff(key) != 0]) if len(key) else np.zeros(0, dtype=np.int64)
    dmin = a["target_delay"].astype(np.int64).ravel()[on][order][first]          # shortest delay per edge
    succ: dict[int, list[tuple[int, int]]] = {}
    for k, dl in zip(key[first].tolist(), dmin.tolist(), strict=True):
        succ.setdefault(k // n, []).append((k % n, dl))
    dist = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    for c, d in zip(a["in_core"].astype(np.int64).tolist(), a["in_delay"].astype(np.int64).tolist(), strict=True):
        dist[c] = min(dist[c], d)
    has_in = np.zeros(n, dtype=bool)
    has_in[tc[on]] = True
    has_in[a["in_core"].astype(np.int64)] = True
    dist[~has_in] = 0
    for seeds in (np.flatnonzero(dist < np.iinfo(np.int64).max), None):
        if seeds is None:                       # cores only a cycle reaches: their own clock
            seeds = np.flatnonzero(dist == np.iinfo(np.int64).max)
            dist[seeds] = 0
        heap = [(int(dist[c]), int(c)) for c in seeds]
        heapq.heapify(heap)
        while heap:
            t, c = heapq.heappop(heap)
            if t > dist[c]:
                continue
            for d, dl in succ.get(c, ()):
                if t + dl < dist[d]:
                    dist[d] = t + dl
                    heapq.heappush(heap, (t + dl, d))
    return dist


@dataclass
class _Run:
    """The state of one run over B streams of `per` frames each."""

    xs: torch.Tensor            # uint8 (B, per, n_inputs)
    nf: int                     # real frames (the rest of B * per is padding)
    sched: torch.Tensor         # int16 (SLOTS, cores * axons, B)
    v: torch.Tensor             # int64 (cores, neurons, B)
    votes: torch.Tensor         # int64 (B, per, n_outputs)
    totals: torch.Tensor        # float64 (4, cores): SOPs, spikes, hops, crossings of real frames
    rec: list = field(default_factory=list)


class ReferenceEngine:
    """Holds one CoreMap's parameters as tensors on `device`."""

    def __init__(self, cm: CoreMap, device: str = "cpu", streams: int = 1):
        self.cm = cm
        self.streams = streams   # run()'s default: chip instances side by side
        self.device = dev = torch.device(device)
        a = cm.arrays
        bits_np = cm.crossbar_bits()                                      # (n, axons, neurons) bool
        bits = torch.from_numpy(np.ascontiguousarray(bits_np.transpose(0, 2, 1)))   # (n, neurons, axons)
        onehot = torch.nn.functional.one_hot(torch.from_numpy(a["axon_type"].astype(np.int64)), 4).float()
        tw = torch.from_numpy(a["type_weight"].astype(np.float32))        # (n, neurons, 4)
        # effective weight of synapse (i, j) = w_ij * s_j^{G_i}; stored as (n, neurons, axons);
        # s_j^{G_i} = sum over types g of s_j^g [G_i = g]: a batched product with the one-hot types
        s_of = torch.bmm(tw, onehot.transpose(1, 2))                      # (n, neurons, axons), exact integers
        self.weff = s_of.mul_(bits).to(dev)
        rows = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1)[a["crossbar"]].sum(2)
        self.row_bits = torch.from_numpy(rows.astype(np.float32)).to(dev)    # (n, axons): synapses per axon
        del bits, bits_np, s_of
        self.used = torch.from_numpy(cm.used()).to(dev)
        t = lambda k: torch.from_numpy(a[k].astype(np.int64)).to(dev)    # noqa: E731
        self.leak, self.alpha, self.gamma, self.R = t("leak"), t("threshold"), t("reset_mode"), t("reset_value")
        self.beta, self.kappa = t("neg_threshold"), t("neg_mode")
        self.vmin, self.vmax = cm.spec.potential_min, cm.spec.potential_max
        tc = a["target_core"].astype(np.int64)
        on = np.flatnonzero((tc >= 0).ravel())
        self.src = torch.from_numpy(on).to(dev)
        self.dst = torch.from_numpy(tc.ravel()[on] * cm.spec.axons + a["target_axon"].astype(np.int64).ravel()[on]).to(dev)
        self.delay = torch.from_numpy(a["target_delay"].astype(np.int64).ravel()[on]).to(dev)
        hops, cross = cm.route_cost()
        self.route = torch.from_numpy(np.stack([hops, cross]).astype(np.float64)).to(dev)   # (2, n, neurons)
        out_flat = a["out_core"].astype(np.int64) * cm.spec.neurons + a["out_neuron"].astype(np.int64)
        self.out_src = torch.from_numpy(out_flat).to(dev)
        self.out_idx = torch.from_numpy(a["out_index"].astype(np.int64)).to(dev)
        self.in_index = torch.from_numpy(a["in_index"].astype(np.int64)).to(dev)
        self.in_dst = torch.from_numpy(a["in_core"].astype(np.int64) * cm.spec.axons + a["in_axon"].astype(np.int64)).to(dev)
        self.in_delay = torch.from_numpy(a["in_delay"].astype(np.int64)).to(dev)
        self.arrival = arrival_ticks(cm)
        self._arrival = torch.from_numpy(self.arrival).to(dev)

    def _start(self, inputs: np.ndarray, streams: int) -> _Run:
        """Frames split into `streams` chip instances of `per` frames each (padding at the end)."""
        cm, dev = self.cm, self.device
        x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.uint8).reshape(len(inputs), -1)).to(dev)
        if x.shape[1] != cm.n_inputs:
            from tnpipe.errors import ArtifactError
            raise ArtifactError(f"inputs have {x.shape[1]} values per frame; the core map expects {cm.n_inputs}")
        nf = x.shape[0]
        b = max(1, min(streams, nf))
        per = -(-nf // b)
        if per * b - nf:
            x = torch.cat([x, torch.zeros(per * b - nf, x.shape[1], dtype=x.dtype, device=dev)])
        n, na, nn = cm.n_cores, cm.spec.axons, cm.spec.neurons
        return _Run(x.view(b, per, -1), nf, torch.zeros(SLOTS, n * na, b, dtype=torch.int16, device=dev),
                    torch.zeros(n, nn, b, dtype=torch.int64, device=dev),
                    torch.zeros(b, per, cm.n_outputs, dtype=torch.int64, device=dev),
                    torch.zeros(4, n, dtype=torch.float64, device=dev))

    def _fire(self, v: torch.Tensor, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Integrate, leak, fire, reset, floor, clamp (steps 2 of the module docstring)."""
        v = v + torch.bmm(self.weff, active).round().long() + self.leak[:, :, None]
        used = self.used[:, :, None]
        spike = (v >= self.alpha[:, :, None]) & used
        g, R, al = self.gamma[:, :, None], self.R[:, :, None], self.alpha[:, :, None]
        v = torch.where(spike, torch.where(g == 0, R, torch.where(g == 1, v - al, v)), v)
        be, ka = self.beta[:, :, None], self.kappa[:, :, None]
        neg = ~spike & (v < -be)
        bounced = torch.where(g == 0, -R, torch.where(g == 1, v + be, v))
        v = torch.where(neg, torch.where(ka == 1, -be, bounced), v)
        v = v.clamp_(self.vmin, self.vmax)
        return torch.where(used, v, torch.zeros_like(v)), spike

    def _tick(self, r: _Run, t: int, record: bool) -> None:
        cm = self.cm
        n, na, nn = cm.n_cores, cm.spec.axons, cm.spec.neurons
        b, per = r.xs.shape[0], r.xs.shape[1]
        if t < per:   # inputs of this tick: frame t of every stream
            vals = r.xs[:, t, :].T[self.in_index].to(torch.int16)          # (wires, b)
            for d in torch.unique(self.in_delay).tolist():
                m = self.in_delay == d
                r.sched[(t + d) % SLOTS].index_add_(0, self.in_dst[m], vals[m])
        slot = t % SLOTS
        active = (r.sched[slot] > 0).view(n, na, b).float()
        r.sched[slot].zero_()
        r.v, spike = self._fire(r.v, active)
        # the frame each core holds now; only real frames are counted
        f = t - self._arrival
        real = ((f[:, None] >= 0) & (f[:, None] < per)
                & ((torch.arange(b, device=self.device)[None, :] * per + f[:, None]) < r.nf))   # (cores, b)
        fs = spike.double()
        per_core = torch.stack([(self.row_bits[:, :, None] * active).sum(1).double(), fs.sum(1),
                                (self.route[0][:, :, None] * fs).sum(1), (self.route[1][:, :, None] * fs).sum(1)])
        r.totals += (per_core * real[None]).sum(2)
        if record:
            r.rec.append(spike.cpu().numpy().copy())
        flat = spike.view(n * nn, b)
        sv = flat[self.src].to(torch.int16)
        for d in torch.unique(self.delay).tolist():
            m = self.delay == d
            r.sched[(t + d) % SLOTS].index_add_(0, self.dst[m], sv[m])
        fo = t - cm.latency_ticks
        if 0 <= fo < per:
            o = flat[self.out_src].long()                                # (wires, b)
            r.votes[:, fo, :].index_add_(1, self.out_idx, o.T.contiguous())

    def warm_up(self) -> float:
        return 0.0

    def run(self, inputs: np.ndarray, streams: int | None = None, record: bool = False) -> SimResult:
        """inputs: (N, n_inputs) {0,1}. Frames are split into `streams` independent chip
        instances, each fed one frame per tick. Returns votes per frame and activity per
        frame (module docstring); record=True keeps every tick's spikes."""
        r = self._start(inputs, self.streams if streams is None else streams)
        b, per = r.xs.shape[0], r.xs.shape[1]
        ticks = per + max(self.cm.latency_ticks, int(self.arrival.max(initial=0)))
        for t in range(ticks):
            self._tick(r, t, record)
        nf = max(r.nf, 1)
        totals = (r.totals / nf).cpu().numpy()
        votes = r.votes.view(b * per, -1)[:r.nf].cpu().numpy()
        x = r.xs.reshape(b * per, -1)[:r.nf]
        packets = float(x[:, self.in_index].sum()) / nf if len(self.in_index) else 0.0
        result = SimResult(votes=votes, sops_per_frame=float(totals[0].sum()), spikes_per_frame=float(totals[1].sum()),
                           hops_per_frame=float(totals[2].sum()), crossings_per_frame=float(totals[3].sum()),
                           core_spikes_per_frame=totals[1], busiest_core_sops=float(totals[0].max(initial=0.0)),
                           engine="reference", input_packets_per_frame=packets,
                           output_packets_per_frame=float(votes.sum()) / nf)
        result.recorded["input_packets_per_frame"] = packets
        if record:   # (ticks, n, neurons, streams); stream b holds frames b*per .. b*per+per-1
            result.recorded.update(spikes=np.stack(r.rec), streams=b, frames_per_stream=per, arrival=self.arrival)
        return result


def make(cm: CoreMap, device: str, settings: EngineSettings) -> ReferenceEngine:
    """The registry's entry (tnpipe.chip.engines): any map, on CPU or CUDA."""
    return ReferenceEngine(cm, device, streams=settings.streams)


def simulate_reference(cm: CoreMap, inputs: np.ndarray, streams: int = 1, device: str = "cpu",
                       record: bool = False) -> SimResult:
    """Run the reference engine (see the module docstring)."""
    return ReferenceEngine(cm, device).run(inputs, streams=streams, record=record)


def spike_trace(cm: CoreMap, inputs: np.ndarray, device: str = "cpu", streams: int = 16,
                engine: ReferenceEngine | None = None) -> tuple[np.ndarray, int]:
    """Which core neuron fired at which tick: (bool (ticks, n_cores, neurons, streams),
    frames per stream). The frames are split into `streams` chip instances in order, each
    fed one frame per tick from tick 0 (frame s*per + i enters instance s at tick i and
    reaches core c at tick i + arrival_ticks(cm)[c]). The tick engine's own record: the
    spike-level evidence; instances side by side cost one weight pass per tick."""
    eng = engine if engine is not None else ReferenceEngine(cm, device)
    rec = eng.run(inputs, streams=streams, record=True).recorded
    return rec["spikes"], rec["frames_per_stream"]
