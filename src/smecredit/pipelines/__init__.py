"""Orchestration of training, reporting and decision runs."""
