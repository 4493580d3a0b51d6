"""Raw data: the data model (schemas), validation and loading (the city simulator is `smecredit.simulation`)."""

from smecredit.data.loaders import RawData, from_frames, load_raw
from smecredit.data.schemas import TABLES, TableSpec
from smecredit.data.validate import ValidationReport, validate_raw

__all__ = ["TABLES", "RawData", "TableSpec", "ValidationReport", "from_frames", "load_raw", "validate_raw"]
