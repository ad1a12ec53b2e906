"""RunResult (result.json): typed record, older files read, other versions refused in one line."""

from __future__ import annotations

import json

import pytest
from test_report import equivalence, floorplan, make_result

from tnpipe.artifacts import (
    EnergyModel,
    Equivalence,
    Floorplan,
    RunResult,
    load_result,
    save_result,
)
from tnpipe.errors import ArtifactError


def test_round_trip_keeps_every_key_and_nested_types(tmp_path):
    obj = make_result("cifar10", "tiny", True, equivalence=equivalence(True), floorplan=floorplan(),
                      chip={"placement": "snake"}, some_future_key=[1, 2],
                      energy_model={"profile": "truenorth-1.0v", "voltage": 1.0, "constants": {"e_sop_pj": 0.3},
                                    "timing": {"sop_ns": 70.6}, "model_estimate": True})
    save_result(tmp_path / "result.json", RunResult.from_json(obj, "test"))
    on_disk = json.loads((tmp_path / "result.json").read_text())
    assert on_disk == obj                                     # same keys, same values, nothing added
    res = load_result(tmp_path / "result.json")
    assert isinstance(res.equivalence, Equivalence) and res.equivalence.spike_frames == 8 and res.exact
    assert isinstance(res.floorplan, Floorplan) and res.floorplan.core_x == [0, 1, 2, 0, 63, 5]
    assert isinstance(res.energy_model, EnergyModel) and res.energy_model.profile == "truenorth-1.0v"
    assert res.extra == {"some_future_key": [1, 2]} and res.chip == {"placement": "snake"}


def test_an_early_version_1_file_reads_with_its_old_spellings(tmp_path):
    obj = make_result("gtsrb", "cpu", False, energy_model={"name": "truenorth-1.0v", "voltage": 1.0},
                      device="cuda")                          # top-level device, no simulator record
    (tmp_path / "result.json").write_text(json.dumps(obj))
    res = load_result(tmp_path / "result.json")
    assert res.energy_model.profile == "truenorth-1.0v" and res.device == "cuda"
    assert res.equivalence is None and not res.exact and res.floorplan is None and res.simulator is None


@pytest.mark.parametrize("version", [0, 2, None, "1"])
def test_other_versions_are_refused_in_one_line(tmp_path, version):
    obj = make_result("svhn", "tiny", True)
    obj["format_version"] = version
    (tmp_path / "result.json").write_text(json.dumps(obj))
    with pytest.raises(ArtifactError) as e:
        load_result(tmp_path / "result.json")
    msg = str(e.value)
    assert len(msg.splitlines()) == 1 and str(tmp_path / "result.json") in msg
    assert f"format_version {version!r}; expected 1" in msg and "tnpipe deploy" in msg


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("cores", "12", "result 'cores' is str '12'; expected int"),
    ("energy_model", {"voltage": 1.0}, "key 'profile' missing from result 'energy_model'"),
    ("floorplan", dict(floorplan(), core_x="0 1"), "result 'floorplan' 'core_x' is str"),
    ("simulator", {"engine": "lut"}, "key 'device' missing from result 'simulator'"),
])
def test_a_wrong_field_is_refused_naming_file_and_key(tmp_path, key, value, needle):
    obj = make_result("svhn", "tiny", True, **{key: value})
    (tmp_path / "result.json").write_text(json.dumps(obj))
    with pytest.raises(ArtifactError, match=needle) as e:
        load_result(tmp_path / "result.json")
    assert len(str(e.value).splitlines()) == 1 and str(tmp_path) in str(e.value)


def test_a_missing_required_key_is_refused(tmp_path):
    obj = make_result("svhn", "tiny", True)
    del obj["fps"]
    (tmp_path / "result.json").write_text(json.dumps(obj))
    with pytest.raises(ArtifactError, match="key 'fps' missing from result"):
        load_result(tmp_path / "result.json")
