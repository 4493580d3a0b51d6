"""``smecredit simulate --realistic``: the SimConfig.realistic() city from the command line."""

from __future__ import annotations

import hashlib

import pandas as pd

from smecredit.cli import main
from smecredit.simulation import simulate
from smecredit.simulation.config import SimConfig

ARGS = ["simulate", "--enterprises", "400", "--months", "24", "--seed", "5"]


def _digests(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def test_realistic_flag_builds_the_realistic_city(tmp_path):
    real, plain = tmp_path / "real", tmp_path / "plain"
    assert main([*ARGS, "--realistic", "--out", str(real)]) == 0
    assert main([*ARGS, "--out", str(plain)]) == 0
    # the preset with the sizes given on the command line, byte for byte
    api = simulate(out=tmp_path / "api", config=SimConfig.realistic(n_enterprises=400, months=24, seed=5))
    assert _digests(real) == _digests(api)
    assert _digests(real) != _digests(plain)
    # births inside the window: enterprises registered after its first month (none in the default city)
    start = pd.Timestamp("2024-01-01")
    born = {name: (pd.read_parquet(folder / "enterprises.parquet")["registration_date"] >= start).sum()
            for name, folder in (("real", real), ("plain", plain))}
    assert born["plain"] == 0 and born["real"] >= 20, born


def test_realistic_flag_refuses_a_bad_setting_before_writing(tmp_path):
    out = tmp_path / "bad"
    assert main(["simulate", "--enterprises", "300", "--months", "5", "--realistic", "--out", str(out)]) == 2
    assert not out.exists()
