"""Test support shared by every app: an organisation with each role, and deal builders."""
