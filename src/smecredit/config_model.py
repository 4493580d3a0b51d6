"""Base class of smecredit's configuration objects: a frozen pydantic model that rejects unknown
fields and reports every invalid field at once as a :class:`~smecredit.exceptions.ConfigError` (exit 2).

>>> class Demo(FrozenConfig):
...     n: int = 1
>>> Demo(n=0.5, m=1)
Traceback (most recent call last):
...
smecredit.exceptions.ConfigError: invalid Demo: 2 problem(s)
  - n: Input should be a valid integer
  - m: unknown field
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from smecredit.exceptions import ConfigError


def config_problems(exc: ValidationError, what: str, *, show_input: bool = False) -> str:
    """One line per invalid field of ``exc`` (``field: message``, plus ``(got value)`` with ``show_input``),
    headed by ``invalid <what>``."""
    lines = [f"invalid {what}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"  - {loc}: {msg} (got {err.get('input')!r})" if show_input else f"  - {loc}: {msg}")
    return "\n".join(lines)


class FrozenConfig(BaseModel):
    """Frozen, ``extra="forbid"``, strict (no text or bool taken for a number); invalid input raises
    :class:`ConfigError` listing every problem, headed by the ``title`` of the subclass's ``model_config``."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def __init__(self, **data):
        # NumPy scalars (np.int64 seeds, np.float64 thresholds from a notebook) count as the Python numbers they are
        data = {k: (v.item() if isinstance(v, np.generic) and not isinstance(v, np.bool_) else v)
                for k, v in data.items()}
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(config_problems(exc, self.model_config.get("title") or type(self).__name__)) from None
