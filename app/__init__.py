"""Vigil: on-device review of remote video interviews for fraud risk."""

__version__ = "0.1.0"
