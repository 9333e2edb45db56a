"""Example third-party plugin for forensic-core (see README.md)."""

__version__ = "0.1.0"
