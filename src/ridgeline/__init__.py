"""Ridgeline: Cloud Security Posture Management."""

__version__ = "0.1.0"
