"""Core utilities: atomic output, keyed pseudonymisation, unified social credit codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smecredit.data.uscc import check_char, is_valid, make_codes, valid_mask
from smecredit.exceptions import ConfigError
from smecredit.io import atomic_path, write_table
from smecredit.privacy import pseudonymise, pseudonymise_series


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.parquet"
    write_table(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_failed_folder_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "city", is_dir=True) as tmp:
        (tmp / "x.parquet").write_bytes(b"1")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_folder_replaced_atomically(tmp_path):
    for content in (b"one", b"two"):
        with atomic_path(tmp_path / "d", is_dir=True) as tmp:
            (tmp / "f").write_bytes(content)
    assert (tmp_path / "d" / "f").read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_pseudonyms_are_keyed_stable_and_do_not_reveal_the_code():
    code = "91350100M000100Y43"
    a = pseudonymise(code, b"k" * 32)
    assert a == pseudonymise(code, b"k" * 32)
    assert a != pseudonymise(code, b"j" * 32)
    assert code not in a and a.startswith("ent_")
    s = pseudonymise_series(pd.Series([code, code, "91110000600037341L"]), b"k" * 32)
    assert s.iloc[0] == s.iloc[1] != s.iloc[2]


def test_short_key_is_rejected(monkeypatch):
    monkeypatch.setenv("SMECREDIT_PSEUDONYM_KEY", "short")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        pseudonymise("x")


def test_no_key_configured_refuses_and_creates_nothing_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SMECREDIT_PSEUDONYM_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="smecredit key init"):
        pseudonymise("91350100M000100Y43")
    assert not (tmp_path / ".smecredit").exists() and not (tmp_path / "config").exists()


def test_known_codes_are_valid_and_any_single_character_change_is_caught():
    for code in ("91350100M000100Y43", "91110000600037341L"):
        assert is_valid(code)
        assert check_char(code[:17]) == code[17]
        for pos in range(17):
            alt = "0" if code[pos] != "0" else "1"
            assert not is_valid(code[:pos] + alt + code[pos + 1:])


def test_generated_codes_are_valid_unique_and_vectorised_check_agrees():
    serials = np.arange(0, 5000) * 7919 + 13
    codes = make_codes(serials, np.array(["331002"] * 5000), np.array(["1", "2"] * 2500))
    assert len(set(codes)) == 5000
    assert valid_mask(pd.Series(codes)).all()
    broken = pd.Series([c[:17] + ("A" if c[17] != "A" else "B") for c in codes[:50]] + [None, "short"])
    assert not valid_mask(broken).any()
