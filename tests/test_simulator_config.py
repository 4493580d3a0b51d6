"""The simulator's configuration: one frozen pydantic model, every problem reported at once, no silent conflicts."""

from __future__ import annotations

import pydantic
import pytest

from smecredit.exceptions import ConfigError
from smecredit.simulation import SimConfig, resolve_config, simulate


def test_every_invalid_field_is_reported_at_once_as_a_configuration_error():
    with pytest.raises(ConfigError) as err:
        SimConfig(months=5, seed=-1, phi=1.2, end="2025-12-15", fraud_share=2.0, colour="blue",
                  downturn_industry="Z", downturn_start="June")
    msg = str(err.value)
    assert err.value.exit_code == 2
    assert "9 problem(s)" in msg  # the eight above and the missing downturn severity
    for field in ("months", "seed", "phi", "end", "fraud_share", "colour", "downturn_industry", "downturn_start",
                  "downturn_severity"):
        assert f"  - {field}:" in msg, (field, msg)


def test_downturn_fields_go_together_and_mappings_are_validated_the_same_way():
    with pytest.raises(ConfigError) as err:
        SimConfig.model_validate({"downturn_industry": "C"})
    assert "downturn_start: required" in str(err.value) and "downturn_severity" in str(err.value)
    with pytest.raises(ConfigError, match="writeoff_months"):
        SimConfig.model_validate({"writeoff_months": [6, 2]})
    cfg = SimConfig.model_validate({"downturn_industry": "C", "downturn_start": "2024-07", "downturn_severity": 2})
    assert cfg.downturn_on and cfg.downturn_severity == 2.0


def test_configuration_is_frozen():
    cfg = SimConfig()
    with pytest.raises(pydantic.ValidationError):
        cfg.months = 48


def test_arguments_given_with_a_configuration_must_agree_with_it(tmp_path):
    cfg = SimConfig(n_enterprises=50, months=13, seed=4)
    assert resolve_config(cfg, n_enterprises=50, months=None, seed=4, end=None) is cfg
    assert resolve_config(None, n_enterprises=50, months=13, seed=4, end=None) == cfg
    with pytest.raises(ConfigError, match=r"n_enterprises=60 \(config: 50\)"):
        simulate(60, config=cfg, out=tmp_path / "c")
    with pytest.raises(ConfigError, match=r"seed=5 \(config: 4\)"):
        simulate(out=tmp_path / "c", seed=5, config=cfg)
    assert not (tmp_path / "c").exists()
