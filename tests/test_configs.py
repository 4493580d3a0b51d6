"""The training and report settings are frozen pydantic models: unknown fields are refused and every
invalid field is reported at once (ConfigError, exit 2 from the CLI), before any work is done."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic
import pytest

from smecredit.cli import main
from smecredit.exceptions import ConfigError
from smecredit.pipelines.train import TrainConfig
from smecredit.report import ReportSettings

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


def test_report_settings_report_every_invalid_field_and_are_frozen():
    with pytest.raises(ConfigError) as err:
        ReportSettings(cutoff_pd=1.5, n_boot=5, sample_size="many", seed=True, colour="red")
    text = str(err.value)
    assert text.startswith("invalid report settings: 5 problem(s)")
    for field in ("cutoff_pd", "n_boot", "sample_size", "seed", "colour: unknown field"):
        assert f"  - {field}" in text
    s = ReportSettings(n_boot=50)
    assert (s.n_boot, s.sample_size) == (50, 5000)
    with pytest.raises(pydantic.ValidationError):
        s.n_boot = 10


def test_train_config_reports_every_invalid_field():
    with pytest.raises(ConfigError) as err:
        TrainConfig(kind="forest", split="weekly", tune_seconds=-1, population="new", developer=" ", n_boot=3,
                    register="", learning_rate=0.1)
    text = str(err.value)
    assert text.startswith("invalid training settings: 8 problem(s)")
    for field in ("kind", "split", "tune_seconds", "population", "developer: developer must be a non-empty text",
                  "n_boot", "register", "learning_rate: unknown field"):
        assert f"  - {field}" in text
    assert TrainConfig(register="sme_pd").register_name == "sme_pd"
    assert TrainConfig(random_state=np.int64(3), tune_seconds=5).random_state == 3  # NumPy and int inputs are fine
    with pytest.raises(ConfigError, match="random_state"):
        TrainConfig(random_state=np.bool_(True))


def test_cli_train_lists_every_bad_option_and_writes_nothing(tmp_path, capsys):
    rc = main(["train", "--data", str(GERMAN), "--out", str(tmp_path / "m"), "--kind", "forest", "--split", "weekly",
               "--tune-seconds", "-1", "--population", "new"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "4 problem(s)" in err and all(f"- {f}" in err for f in ("kind", "split", "tune_seconds", "population"))
    assert not (tmp_path / "m").exists()
