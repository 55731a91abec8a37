"""Deliberately broken gansrv plugins (tests/test_plugins.py installs them)."""
