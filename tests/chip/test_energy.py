"""The energy and timing model against hand-computed figures."""

from __future__ import annotations

import pytest

from tnpipe.chip.energy import energy_model_record, estimate, load_profile, modelled_tick_hz
from tnpipe.corespec import TRUENORTH
from tnpipe.errors import RecipeError


def test_profile_constants_are_their_derivations_at_one_volt():
    prof = load_profile("truenorth-1.0v")
    assert prof.voltage == 1.0 and prof.spec == TRUENORTH and prof.spec.cores_per_chip == 4096
    e = prof.energy
    # [CVPR17] Table 2 idle at 1.0 V: (134.3 + 68.8) mW over (3838 + 1936) cores, per chip of 4096
    assert e["p_idle_mw_per_chip"] == pytest.approx((134.3 + 68.8) / (3838 + 1936) * 4096, abs=0.05)
    # marginal energy between [TCAD]'s 65 mW at 2.56 GSOPS and 145 mW at 58 GSOPS (0.75 V), x (1/0.75)^2
    assert e["e_sop_pj"] == pytest.approx((58e9 / 400e9 * 1e3 - 65) * 1e-3 / (58e9 - 2.56e9) * 1e12 / 0.75 ** 2, abs=0.005)
    assert e["e_hop_pj"] == pytest.approx(2.3 * (1.0 / 0.775) ** 2, rel=2e-3)   # profile values rounded to 3 figures
    assert prof.timing["sop_ns"] == pytest.approx(4096 / 58e9 * 1e9, abs=0.05)
    rec = energy_model_record(prof)
    assert rec.model_estimate is True and rec.profile == "truenorth-1.0v"


def test_unknown_profile_is_a_one_line_error():
    with pytest.raises(RecipeError, match="chip profile 'nope' not found .* known profiles: truenorth-1.0v"):
        load_profile("nope")


def test_modelled_tick_is_floor_plus_busiest_core_sops():
    prof = load_profile()
    assert modelled_tick_hz(0, prof) == pytest.approx(1 / 47.6e-6)
    # 10,000 SOPs on one core at 70.6 ns each take 706 us
    assert modelled_tick_hz(10_000, prof) == pytest.approx(1 / (47.6e-6 + 10_000 * 70.6e-9))


def test_estimate_is_idle_share_plus_active_energy_times_fps():
    """The paper's accounting: P = P_idle * cores/4096 + fps * E_active."""
    prof = load_profile()
    act = {"sops": 1e6, "hops": 2e5, "crossings": 10, "io_spikes": 1000, "busiest_core_sops": 0}
    e = estimate(act, cores=2048, prof=prof, tick_hz=1000.0)
    active_pj = 2.57 * 1e6 + 3.83 * 2e5 + 2.0 * 32 * 1000 + 26.0 * 32 * 10
    assert e["active_uj_per_frame"] == pytest.approx(active_pj * 1e-6)
    assert e["idle_mw"] == e["static_mw"] == pytest.approx(144.1 / 2)
    assert e["active_mw"] == pytest.approx(1000 * active_pj * 1e-9)
    assert e["mw"] == pytest.approx(144.1 / 2 + 1000 * active_pj * 1e-9)
    assert e["fps"] == 1000.0 and e["tick_source"] == "recipe"
    assert e["uj_per_frame"] == pytest.approx(e["mw"] / 1000 * 1e3)
    assert e["fps_per_w"] == pytest.approx(1000 / (e["mw"] * 1e-3))
    assert e["model_estimate"] is True
    assert sum(e["breakdown_uj_per_frame"].values()) == pytest.approx(e["active_uj_per_frame"])
    # active energy per frame does not depend on the tick rate ([EEDN] footnote 6)
    assert estimate(act, 2048, prof, tick_hz=2000.0)["active_uj_per_frame"] == pytest.approx(e["active_uj_per_frame"])
