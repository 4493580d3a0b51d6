"""Scoring of tables with a trained credit model."""
