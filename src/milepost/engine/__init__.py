"""Pure-Python domain logic: decisions and maths. Nothing here imports Django.

Keeping it free of the framework lets it be tested table-driven without a database and
benchmarked on millions of rows.
"""
