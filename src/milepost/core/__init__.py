"""Shared plumbing every feature app may use, and that uses none of them.

Domain errors, the append-only base for history tables, request/response building blocks of
the API, the HTMX partial check, the form-error mapper and the read-only admin. Nothing here
knows about deals, processes or people: a feature app depends on ``core``, never sideways on
another app for plumbing.
"""
