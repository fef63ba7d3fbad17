"""Compliance frameworks as data, and the posture of a scan against each."""
