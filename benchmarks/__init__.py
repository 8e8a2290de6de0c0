"""Benchmarks that need a database at scale (``python -m benchmarks`` / ``bin/bench``).

Not part of the installed package: they generate synthetic data with
:mod:`milepost.engine.history` and load it in bulk (:mod:`benchmarks.load`).
"""
