"""Ganeti-compatible cluster virtualization manager.

The package is importable as ``ganeti``; pyproject maps it onto ``lib/``.
"""
