"""Inspection: load the pipeline into the engine's inputs and evaluate exit criteria."""
