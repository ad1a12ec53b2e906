"""The 61 -> 39 TIMIT phone folding (Lee & Hon 1989) and the .PHN reader."""

from __future__ import annotations

import pytest

from tnpipe.data.phones import (
    CLASS_INDEX,
    CLASSES_39,
    FOLD_61_TO_39,
    PHONES_61,
    Segment,
    fold,
    parse_phn,
    read_phn,
)
from tnpipe.errors import DataError


def test_61_labels_in_39_classes_out():
    assert len(PHONES_61) == 61 and len(set(PHONES_61)) == 61
    assert len(CLASSES_39) == 39
    assert {c for c in FOLD_61_TO_39.values() if c is not None} == set(CLASSES_39)
    assert sum(v is None for v in FOLD_61_TO_39.values()) == 1          # only q is deleted


@pytest.mark.parametrize("phone, cls", [
    ("ao", "aa"), ("ix", "ih"), ("ax-h", "ah"), ("ax", "ah"), ("zh", "sh"), ("axr", "er"), ("hv", "hh"),
    ("el", "l"), ("em", "m"), ("en", "n"), ("nx", "n"), ("eng", "ng"), ("ux", "uw"),
    ("h#", "sil"), ("pau", "sil"), ("epi", "sil"), ("bcl", "sil"), ("kcl", "sil"),
    ("aa", "aa"), ("sh", "sh"), ("dx", "dx"),
])
def test_known_foldings(phone, cls):
    assert fold(phone) == CLASS_INDEX[cls]


def test_q_is_dropped():
    assert fold("q") is None


def test_parse_phn(tmp_path):
    segs = parse_phn("0 3050 h#\n3050 4559 sh\n\n4559 5723 IX\n", tmp_path / "SI1.PHN")
    assert segs == [Segment(0, 3050, "h#"), Segment(3050, 4559, "sh"), Segment(4559, 5723, "ix")]


@pytest.mark.parametrize("text, message", [
    ("0 3050 h#\n3050 sh\n", r"SI1\.PHN: line 2 '3050 sh'; expected '<start> <end> <phone>'"),
    ("0 30x0 h#\n", r"SI1\.PHN: line 1 '0 30x0 h#'; start and end must be integers"),
    ("0 3050 h#\n3050 4000 zz\n", r"SI1\.PHN: line 2: unknown phone 'zz'; expected one of the 61 TIMIT labels"),
    ("0 3050 h#\n3050 3050 s\n", r"SI1\.PHN: line 2 '3050 3050 s'; expected 0 <= start < end"),
    ("\n", r"SI1\.PHN: no phone segments"),
])
def test_malformed_phn_names_file_and_line(tmp_path, text, message):
    p = tmp_path / "SI1.PHN"
    p.write_text(text)
    with pytest.raises(DataError, match=message):
        read_phn(p)
