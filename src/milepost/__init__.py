"""Milepost: a sales execution platform (process, methodology, inspection, coaching)."""

__version__ = "0.1.0"
