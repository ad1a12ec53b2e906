"""The CoreMap artifact on disk, and the validator on broken maps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.chip.netref import random_description
from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.mapper import map_network
from tnpipe.chip.validate import validate_coremap
from tnpipe.errors import ArtifactError, MappingError

NET = ("S-8 S-64(2) N-64(2) P-64(4) N-20", (3, 8, 8), 10)


@pytest.fixture(scope="module")
def cm():
    return map_network(random_description(*NET))


def fresh(cm) -> CoreMap:
    return CoreMap(arrays={k: v.copy() for k, v in cm.arrays.items()}, n_inputs=cm.n_inputs, n_outputs=cm.n_outputs,
                   latency_ticks=cm.latency_ticks, layer_names=list(cm.layer_names), spec=cm.spec,
                   chips=cm.chips, chip_grid=cm.chip_grid, info=dict(cm.info))


def test_roundtrip_is_exact_and_compact(cm, tmp_path):
    npz, js = cm.save(tmp_path)
    back = CoreMap.load(tmp_path)
    assert set(back.arrays) == set(cm.arrays)
    assert all(np.array_equal(back.arrays[k], cm.arrays[k]) and back.arrays[k].dtype == cm.arrays[k].dtype
               for k in cm.arrays)
    header = json.loads(js.read_text())
    assert header["format"] == "tnpipe.CoreMap" and header["version"] == 1
    assert header["counts"]["cores"] == cm.n_cores == back.n_cores
    assert header["cores_per_layer"] == cm.cores_per_layer()
    assert back.latency_ticks == cm.latency_ticks and back.spec == cm.spec
    assert cm.arrays["crossbar"].shape == (cm.n_cores, 256, 32)        # packed bits: 8 KiB per core
    validate_coremap(back)


def test_truncated_npz_is_refused(cm, tmp_path):
    npz, _ = cm.save(tmp_path)
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=r"coremap\.npz: sha256 .* differs .*truncated or modified"):
        CoreMap.load(tmp_path)


def test_tampered_npz_is_refused(cm, tmp_path):
    npz, _ = cm.save(tmp_path)
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="truncated or modified"):
        CoreMap.load(tmp_path)


def test_wrong_version_and_broken_header_are_refused(cm, tmp_path):
    _, js = cm.save(tmp_path)
    header = json.loads(js.read_text())
    js.write_text(json.dumps(dict(header, version=99)))
    with pytest.raises(ArtifactError, match="version 99.*expected tnpipe.CoreMap version 1"):
        CoreMap.load(tmp_path)
    js.write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        CoreMap.load(tmp_path)
    js.unlink()
    with pytest.raises(ArtifactError, match="core map header not found"):
        CoreMap.load(tmp_path)


def test_missing_array_is_refused(cm, tmp_path):
    broken = fresh(cm)
    del broken.arrays["leak"]
    broken.save(tmp_path)   # the header matches this npz, but the format lacks an array
    with pytest.raises(ArtifactError, match="array 'leak' missing"):
        CoreMap.load(tmp_path)


def first_used(cm):
    c, j = (int(v) for v in np.argwhere(cm.used() & (cm.arrays["target_core"] >= 0))[0])
    return c, j


@pytest.mark.parametrize("field,value,message", [
    ("target_delay", 0, r"core 0 \(L1 S-64\(2\)\) neuron \d+: delay rule: target_delay = 0 is outside the limit 1..15"),
    ("target_delay", 16, r"delay rule: target_delay = 16 is outside the limit 1..15"),
    ("leak", 300, r"leak rule: leak = 300 is outside the limit -255..255"),
    ("threshold", 0, r"threshold rule: threshold = 0 is outside the limit 1..524287"),
    ("reset_mode", 3, r"reset mode rule: reset_mode = 3 is outside the limit 0..2"),
    ("target_axon", 256, r"target axon rule: target_axon = 256 is outside the limit 0..255"),
    ("target_core", 10 ** 6, r"target rule: target_core = 1000000 is outside the limit -2..\d+"),
])
def test_validator_names_core_rule_value_and_limit(cm, field, value, message):
    broken = fresh(cm)
    c, j = first_used(broken)
    broken.arrays[field][c, j] = value
    with pytest.raises(MappingError, match=message):
        validate_coremap(broken)


def test_validator_rejects_bad_axon_type_and_type_weight(cm):
    broken = fresh(cm)
    broken.arrays["axon_type"][3, 7] = 4
    with pytest.raises(MappingError, match=r"core 3 .* axon 7: axon type rule: axon_type = 4 is outside the limit 0..3"):
        validate_coremap(broken)
    broken = fresh(cm)
    broken.arrays["type_weight"][2, 5, 1] = -256
    with pytest.raises(MappingError, match=r"core 2 .* neuron 5 type 1: 9-bit type weight rule: type_weight = -256"):
        validate_coremap(broken)


def test_validator_rejects_double_placement_and_off_mesh(cm):
    broken = fresh(cm)
    broken.arrays["core_x"][5], broken.arrays["core_y"][5] = broken.arrays["core_x"][4], broken.arrays["core_y"][4]
    with pytest.raises(MappingError, match="core 5 .* same site as core 4"):
        validate_coremap(broken)
    broken = fresh(cm)
    broken.arrays["core_x"][0] = 64
    with pytest.raises(MappingError, match=r"placement rule: core_x = 64 is outside the limit 0..63"):
        validate_coremap(broken)


def test_validator_rejects_wiring_errors(cm):
    broken = fresh(cm)
    broken.arrays["in_delay"][0] = 0
    with pytest.raises(MappingError, match=r"input wire 0: in_delay = 0 is outside the limit 1..15"):
        validate_coremap(broken)
    broken = fresh(cm)
    broken.arrays["out_index"][3] = cm.n_outputs
    with pytest.raises(MappingError, match=rf"output wire 3: out_index = {cm.n_outputs} is outside the limit"):
        validate_coremap(broken)
    broken = fresh(cm)
    c, j = first_used(broken)
    broken.arrays["target_core"][c, j] = -1          # unused, but its synapses stay
    with pytest.raises(MappingError, match=rf"core {c} .* neuron {j}: has synapses but no target"):
        validate_coremap(broken)


def test_validator_rejects_too_many_cores_for_the_chips(cm):
    broken = fresh(cm)
    broken.chips = 0
    with pytest.raises(MappingError, match=r"cores on 0 chip\(s\); the limit is 4096 per chip"):
        validate_coremap(broken)
