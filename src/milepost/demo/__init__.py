"""The demo: the Maven CRM dataset read, imported and given a synthetic history.

Everything ``milepost demo`` and ``milepost import_maven`` need lives here, so the ``imports``
app stays the generic place for running an import and recording its row-level issues.
"""
