"""``smecredit simulate``: the default city has every issue-14 mechanism on; ``--realistic`` is kept as a no-op."""

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


def test_the_command_line_city_is_the_api_city_and_realistic_is_the_default(tmp_path):
    cli, old_flag = tmp_path / "cli", tmp_path / "old_flag"
    assert main([*ARGS, "--out", str(cli)]) == 0
    assert main([*ARGS, "--realistic", "--out", str(old_flag)]) == 0
    api = simulate(out=tmp_path / "api", config=SimConfig(n_enterprises=400, months=24, seed=5))
    assert _digests(cli) == _digests(api) == _digests(old_flag)
    assert SimConfig.realistic(seed=5) == SimConfig(seed=5)
    # births inside the window: enterprises registered after its first month
    born = (pd.read_parquet(cli / "enterprises.parquet")["registration_date"] >= pd.Timestamp("2024-01-01")).sum()
    assert born >= 20, born
    assert (cli / "_truth" / "exits.parquet").exists()


def test_a_bad_setting_is_refused_before_writing(tmp_path):
    for extra in ([], ["--realistic"]):
        out = tmp_path / f"bad{len(extra)}"
        assert main(["simulate", "--enterprises", "300", "--months", "5", *extra, "--out", str(out)]) == 2
        assert not out.exists()
