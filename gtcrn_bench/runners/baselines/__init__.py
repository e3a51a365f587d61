"""Baseline denoisers from PyPI packages, one module per baseline; importing a module registers its runner.

Each module imports its package at the top, so a missing package makes the
registry list the module as unavailable (with the package's name) instead of
failing the harness.
"""
