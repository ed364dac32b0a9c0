"""Dockyard: one async Python backend hosting five data services on one shared core."""

__version__ = "0.1.0"
