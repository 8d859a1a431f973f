"""Actuals and targets from a file: shape, resolve, gate, then load in one transaction."""
