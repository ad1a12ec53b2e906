import pytest

from tnpipe.corespec import TRUENORTH
from tnpipe.errors import NetworkSpecError
from tnpipe.netspec import parse_network

ONE_CHIP = ("S-16 P4-252(2) N-256(2) P-256(8) S-512(32) N-512(4) N-512(4) N-512(4) P-512(16) "
            "S-1024(64) N-1024(8) P-1024(32) N-1024(8) N-1024(8) N-2040(8)")


def test_one_chip_cifar_geometry_matches_paper():
    net = parse_network(ONE_CHIP, (3, 32, 32), 10)
    assert [layer.out_hw[0] for layer in net.layers] == [32, 16, 16, 8, 8, 8, 8, 8, 4, 4, 4, 2, 2, 2, 2]
    assert [layer.fan_in for layer in net.chip_layers] == [128, 126, 128, 72, 128, 128, 128, 128, 72, 128, 128, 128, 128, 128]
    assert net.votes_per_class == 816  # Table 1: 816 votes per class


def test_fan_in_violation_names_layer_value_and_limit():
    with pytest.raises(NetworkSpecError, match=r"layer 2 'S-64'.*fan-in 3x3x32/1 = 288 exceeds the limit of 128"):
        parse_network("S-16 N-32 S-64", (3, 32, 32), 10)


def test_features_per_group_limit():
    with pytest.raises(NetworkSpecError, match=r"300 features per group exceeds the limit of 256"):
        parse_network("S-16 N-300", (3, 32, 32), 10)


def test_unknown_token_and_groups_must_divide():
    with pytest.raises(NetworkSpecError, match=r"token 2 'Q-16': unknown layer token"):
        parse_network("S-16 Q-16", (3, 32, 32), 10)
    with pytest.raises(NetworkSpecError, match=r"groups=3 must divide"):
        parse_network("S-16 N-32(3)", (3, 32, 32), 10)


def test_transduction_layer_is_exempt_and_limit_comes_from_core_spec():
    net = parse_network("S-64 N-128(2)", (3, 32, 32), 10)
    assert net.transduction.fan_in == 27 and not net.transduction.on_chip
    assert TRUENORTH.max_fan_in == 128


def test_dropout_marks_next_layer():
    net = parse_network("S-12 P4-128(4) D S-256(16)", (3, 32, 32), 10)
    assert net.layers[2].dropout_before and not net.layers[1].dropout_before
