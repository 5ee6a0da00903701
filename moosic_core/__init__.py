"""Moo-Sic core: platform-neutral mood, catalog, taste and recommendation logic."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["PROJECT_ROOT"]
