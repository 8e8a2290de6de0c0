"""Deals: the board, the table, the opportunity page, the process map with its inline evidence
actions, and the deal API — the pages where reps and managers work their deals, composing
pipeline, evidence, methodology and inspection."""
