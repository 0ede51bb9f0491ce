"""The one place the release version lives (pyproject reads it from here)."""

SOFTWARE_NAME = "aigc-provenance"
__version__ = "0.1.0"
