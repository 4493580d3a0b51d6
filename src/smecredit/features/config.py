"""The configuration of feature building: :class:`FeatureConfig`, a frozen pydantic model.

Every invalid field is reported at once in one :class:`~smecredit.exceptions.ConfigError` (exit code 2);
unknown fields are refused (``extra="forbid"``), so a misspelt parameter never passes silently.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smecredit.config_model import config_problems
from smecredit.exceptions import ConfigError


class FeatureConfig(BaseModel):
    """Parameters shared by the feature families and the label.

    Parameters
    ----------
    horizon : int
        Outcome window of the label in months after the snapshot (1–60).
    default_dpd : int
        A month with more than ``default_dpd`` days past due on any loan is a default (Basel: 90; 0–360).
    no_event_days : float
        Value of the ``*_days_since_last`` features when no event happened before the snapshot
        (default 3650, i.e. "none in ten years"); a positive finite number.

    Raises
    ------
    ConfigError
        Listing every invalid or unknown field (exit code 2).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    horizon: int = Field(12, ge=1, le=60, description="label outcome window in months")
    default_dpd: int = Field(90, ge=0, le=360, description="days past due beyond which a month is a default")
    no_event_days: float = Field(3650.0, gt=0, description="value of days-since features when nothing happened")

    @model_validator(mode="before")
    @classmethod
    def _plain_numbers(cls, data: Any) -> Any:
        # NumPy scalars are accepted as the Python numbers they hold (strict mode refuses them otherwise);
        # booleans stay refused (True is not a horizon) and an integer is a valid float
        if isinstance(data, dict):
            out = {}
            for k, v in data.items():
                if isinstance(v, np.generic) and not isinstance(v, np.bool_):
                    v = v.item()
                if k == "no_event_days" and isinstance(v, int) and not isinstance(v, bool):
                    v = float(v)
                out[k] = v
            return out
        return data

    @field_validator("no_event_days")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(format_config_errors(exc, "feature configuration")) from None

    def with_horizon(self, horizon: int) -> FeatureConfig:
        """The same configuration with another label horizon (validated)."""
        return FeatureConfig(**{**self.model_dump(), "horizon": horizon})


def format_config_errors(exc: ValidationError, what: str) -> str:
    """Every pydantic error of ``exc``, one line per field: ``field: message (got value)``."""
    return config_problems(exc, what, show_input=True)
