"""Snoozes: a manager's "known stall, leave it until then" on a deal or one of its signals.

``services`` writes them (with their append-only history), ``selectors`` reads them scoped to
the asker; :func:`milepost.inspection.pipeline.inspect_pipeline` applies the active ones.
"""
