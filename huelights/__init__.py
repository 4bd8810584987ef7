"""Hue light automation shared library."""
