"""Shared fixtures: a small simulated city, isolated MLflow tracking and temp folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smecredit.simulation import simulate

TEST_KEY = "test-key-0123456789abcdef"
# set before any fixture runs (module- and session-scoped ones too): every model, audit chain and
# pseudonym of the test session uses one key, and no test relies on a key file
os.environ["SMECREDIT_PSEUDONYM_KEY"] = TEST_KEY

SIM_N = 4000
SIM_MONTHS = 36
SIM_SEED = 7


@pytest.fixture(scope="session")
def sim_city(tmp_path_factory) -> Path:
    """Path of a simulated city: 4,000 enterprises × 36 months (2023-01 … 2025-12), seed 7."""
    out = tmp_path_factory.mktemp("city") / "raw"
    return simulate(SIM_N, SIM_MONTHS, SIM_SEED, out)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test tracks MLflow to its own sqlite file and uses a fixed pseudonymisation key."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SMECREDIT_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    yield
