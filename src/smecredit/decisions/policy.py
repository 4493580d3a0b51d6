"""The decision policy: a YAML file validated with pydantic (frozen, unknown keys rejected).

>>> policy = load_policy()            # the shipped default policy
>>> policy.renewal.window_end_days
90

A bank changes thresholds by editing a copy of ``config/default_policy.yaml`` and passing
it with ``--policy``. Every problem in a file is reported at once, field by field, as a
:class:`~smecredit.exceptions.PolicyError` (CLI exit code 2). ``policy_sha256`` (the SHA-256
of the file's bytes) is written into every decision row.

This module loads and validates policy files. The pydantic model is in
:mod:`~smecredit.decisions.policy_model` and the regulatory floor in
:mod:`~smecredit.decisions.policy_floor`; their public names are re-exported here, so
``from smecredit.decisions.policy import Policy, REGULATORY_RULES, …`` keeps working.
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from smecredit.decisions.policy_floor import (MEDIUM_CUTOFF_LIMIT, REGULATORY_PRODUCTS, REGULATORY_RULES,
                                              REGULATORY_SIZE_CLASSES, regulatory_floor_problems)
from smecredit.decisions.policy_model import (GRADES, RULE_IDS, ExpectedLossPolicy, LendingPolicy, Policy, PriceTier,
                                              RenewalPolicy, RuleMeta, canonical_sha256)
from smecredit.exceptions import PolicyError

__all__ = ["GRADES", "MEDIUM_CUTOFF_LIMIT", "REGULATORY_PRODUCTS", "REGULATORY_RULES", "REGULATORY_SIZE_CLASSES",
           "RULE_IDS", "ExpectedLossPolicy", "LendingPolicy", "Policy", "PriceTier", "RenewalPolicy", "RuleMeta",
           "canonical_sha256", "default_policy_path", "format_validation_error", "load_policy", "policy_from_dict",
           "regulatory_floor_problems", "safe_load_unique"]

log = logging.getLogger(__name__)


def default_policy_path() -> Path:
    """Path of the shipped default policy (package data ``smecredit/config/default_policy.yaml``)."""
    return Path(str(resources.files("smecredit") / "config" / "default_policy.yaml"))


def format_validation_error(exc: ValidationError, source: str) -> str:
    """All pydantic errors of ``exc``, one line per field (dotted path: message)."""
    lines = [f"invalid policy {source}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def policy_from_dict(data: dict, source: str = "(dict)") -> Policy:
    """Validate a policy mapping; raise :class:`PolicyError` listing every problem."""
    if not isinstance(data, dict):
        raise PolicyError(f"invalid policy {source}: the top level must be a mapping, got {type(data).__name__}")
    floor = regulatory_floor_problems(data)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        text = format_validation_error(exc, source)
        if floor:
            head, *rest = text.split("\n")
            text = "\n".join([f"invalid policy {source}: {exc.error_count() + len(floor)} problem(s)",
                               *(f"  - {m}" for m in floor), *rest])
        raise PolicyError(text) from None
    if floor:
        raise PolicyError("\n".join([f"invalid policy {source}: {len(floor)} problem(s)", *(f"  - {m}" for m in floor)]))
    return policy


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a mapping with a duplicated key (YAML would keep the last value)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1}, again at line "
                f"{key_node.start_mark.line + 1}): the last value would silently win", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def safe_load_unique(text: str):
    """``yaml.safe_load`` that raises ``yaml.YAMLError`` on a duplicated mapping key."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def load_policy(path: str | os.PathLike | None = None) -> Policy:
    """Load and validate a policy YAML file (the shipped default when ``path`` is None).

    Raises
    ------
    PolicyError
        When the file is missing, is not valid YAML, has unknown keys or impossible thresholds
        (all problems listed, field by field).
    """
    path = default_policy_path() if path is None else Path(path)
    if not path.is_file():
        raise PolicyError(f"policy file not found: {path}")
    raw = path.read_bytes()
    try:
        data = safe_load_unique(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}") from None
    policy = policy_from_dict(data, str(path))
    return policy.with_sha(hashlib.sha256(raw).hexdigest())
