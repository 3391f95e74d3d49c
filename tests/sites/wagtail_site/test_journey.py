"""Collects every .feature file in this folder as pytest scenarios (pytest-bdd)."""

from pytest_bdd import scenarios

scenarios(".")
