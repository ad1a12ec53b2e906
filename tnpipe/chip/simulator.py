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
frame injected at tick t has its votes at tick t + latency_ticks. Counted per tick: synaptic
events (SOPs), spikes, hops (Manhattan, x then y) and chip crossings.
Unused neurons (target UNUSED) are not evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from tnpipe.chip.coremap import OFF_CHIP, CoreMap

SLOTS = 16   # scheduler rows: delays 1..15 plus the current tick


@dataclass
class SimResult:
    """What a simulation measured.

    Counters: the fast paths give exact per-frame means (each frame's own activity); the
    reference engine gives per-tick means over every tick of the run, warm-up and drain
    included (with one frame per tick, a tick's activity in steady state is a frame's)."""

    votes: np.ndarray                      # int64 (N, n_outputs)
    sops_per_frame: float
    spikes_per_frame: float
    hops_per_frame: float
    crossings_per_frame: float
    core_spikes_per_frame: np.ndarray      # float64 (n_cores,)
    busiest_core_sops: float               # max over cores of SOPs per tick (timing model)
    engine: str = "reference"
    recorded: dict = field(default_factory=dict)   # optional per-tick spikes (reference only)


class ReferenceEngine:
    """Holds one CoreMap's parameters as tensors on `device`."""

    def __init__(self, cm: CoreMap, device: str = "cpu"):
        self.cm = cm
        self.device = torch.device(device)
        a = cm.arrays
        n = cm.n_cores
        dev = self.device
        bits = torch.from_numpy(cm.crossbar_bits())                      # (n, axons, neurons) bool
        types = torch.from_numpy(a["axon_type"].astype(np.int64))         # (n, axons)
        tw = torch.from_numpy(a["type_weight"].astype(np.float32))        # (n, neurons, 4)
        # effective weight of synapse (i, j) = w_ij * s_j^{G_i}; stored as (n, neurons, axons)
        s_of = torch.gather(tw, 2, types[:, None, :].expand(n, tw.shape[1], types.shape[1]))  # (n, neurons, axons)
        self.weff = (bits.transpose(1, 2).float() * s_of).contiguous().to(dev)
        self.row_bits = bits.sum(2).to(torch.float32).to(dev)            # (n, axons): synapses per axon
        del bits, s_of
        used = cm.used()
        self.used = torch.from_numpy(used).to(dev)
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
        self.hops = torch.from_numpy(hops.ravel().astype(np.float64)).to(dev)
        self.cross = torch.from_numpy(cross.ravel().astype(np.float64)).to(dev)
        out_flat = a["out_core"].astype(np.int64) * cm.spec.neurons + a["out_neuron"].astype(np.int64)
        self.out_src = torch.from_numpy(out_flat).to(dev)
        self.out_idx = torch.from_numpy(a["out_index"].astype(np.int64)).to(dev)
        self.in_index = torch.from_numpy(a["in_index"].astype(np.int64)).to(dev)
        self.in_dst = torch.from_numpy(a["in_core"].astype(np.int64) * cm.spec.axons + a["in_axon"].astype(np.int64)).to(dev)
        self.in_delay = torch.from_numpy(a["in_delay"].astype(np.int64)).to(dev)
        assert OFF_CHIP < 0

    def run(self, inputs: np.ndarray, streams: int = 1, record: bool = False) -> SimResult:
        """inputs: (N, n_inputs) {0,1}. Frames are split into `streams` independent chip
        instances, each fed one frame per tick. Returns votes per frame and activity."""
        cm, dev = self.cm, self.device
        n, na, nn = cm.n_cores, cm.spec.axons, cm.spec.neurons
        x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.uint8).reshape(len(inputs), -1)).to(dev)
        if x.shape[1] != cm.n_inputs:
            from tnpipe.errors import ArtifactError
            raise ArtifactError(f"inputs have {x.shape[1]} values per frame; the core map expects {cm.n_inputs}")
        nf = x.shape[0]
        b = max(1, min(streams, nf))
        per = -(-nf // b)                                   # frames per stream
        pad = per * b - nf
        if pad:
            x = torch.cat([x, torch.zeros(pad, x.shape[1], dtype=x.dtype, device=dev)])
        xs = x.view(b, per, -1)                              # stream, frame-in-stream, input
        lat = cm.latency_ticks
        ticks = per + lat + 1
        sched = torch.zeros(SLOTS, n * na, b, dtype=torch.int16, device=dev)
        v = torch.zeros(n, nn, b, dtype=torch.int64, device=dev)
        votes = torch.zeros(b, per, cm.n_outputs, dtype=torch.int64, device=dev)
        sops = torch.zeros(b, dtype=torch.float64, device=dev)
        spikes = torch.zeros(b, dtype=torch.float64, device=dev)
        hops = torch.zeros(b, dtype=torch.float64, device=dev)
        cross = torch.zeros(b, dtype=torch.float64, device=dev)
        core_spikes = torch.zeros(n, dtype=torch.float64, device=dev)
        busiest = 0.0
        rec = []
        used = self.used[:, :, None]
        for t in range(ticks):
            if t < per:   # inputs of this tick: frame t of every stream
                vals = xs[:, t, :].T[self.in_index].to(torch.int16)          # (wires, b)
                for d in torch.unique(self.in_delay).tolist():
                    m = self.in_delay == d
                    sched[(t + d) % SLOTS].index_add_(0, self.in_dst[m], vals[m])
            slot = t % SLOTS
            active = (sched[slot] > 0).view(n, na, b).float()
            sched[slot].zero_()
            core_sops = (self.row_bits[:, :, None] * active).sum(1)          # (n, b)
            sops += core_sops.sum(0).double()
            busiest = max(busiest, float(core_sops.max()))
            v += torch.bmm(self.weff, active).round().long()
            v += self.leak[:, :, None]
            spike = (v >= self.alpha[:, :, None]) & used
            g, R, al = self.gamma[:, :, None], self.R[:, :, None], self.alpha[:, :, None]
            v = torch.where(spike, torch.where(g == 0, R, torch.where(g == 1, v - al, v)), v)
            be, ka = self.beta[:, :, None], self.kappa[:, :, None]
            neg = ~spike & (v < -be)
            bounced = torch.where(g == 0, -R, torch.where(g == 1, v + be, v))
            v = torch.where(neg, torch.where(ka == 1, -be, bounced), v)
            v = v.clamp_(self.vmin, self.vmax)
            v = torch.where(used, v, torch.zeros_like(v))
            flat = spike.view(n * nn, b)
            fs = flat.double()
            spikes += fs.sum(0)
            hops += (self.hops[:, None] * fs).sum(0)
            cross += (self.cross[:, None] * fs).sum(0)
            core_spikes += spike.sum((1, 2)).double()
            if record:
                rec.append(spike.cpu().numpy().copy())
            sv = flat[self.src].to(torch.int16)
            for d in torch.unique(self.delay).tolist():
                m = self.delay == d
                sched[(t + d) % SLOTS].index_add_(0, self.dst[m], sv[m])
            f = t - lat
            if 0 <= f < per:
                o = flat[self.out_src].long()                                # (wires, b)
                votes[:, f, :].index_add_(1, self.out_idx, o.T.contiguous())
        total = ticks * b
        result = SimResult(
            votes=votes.view(b * per, -1)[:nf].cpu().numpy(),
            sops_per_frame=float(sops.sum()) / total,
            spikes_per_frame=float(spikes.sum()) / total,
            hops_per_frame=float(hops.sum()) / total,
            crossings_per_frame=float(cross.sum()) / total,
            core_spikes_per_frame=(core_spikes / total).cpu().numpy(),
            busiest_core_sops=busiest,
            engine="reference",
        )
        if record:
            # (ticks, n, neurons, streams) -> stream-major per tick
            result.recorded = {"spikes": np.stack(rec), "streams": b, "frames_per_stream": per}
        return result


def simulate_reference(cm: CoreMap, inputs: np.ndarray, streams: int = 1, device: str = "cpu",
                       record: bool = False) -> SimResult:
    """Run the reference engine (see the module docstring)."""
    return ReferenceEngine(cm, device).run(inputs, streams=streams, record=record)
