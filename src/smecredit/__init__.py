"""smecredit: credit scoring and risk modelling of small and micro enterprises."""

__version__ = "0.1.0"
