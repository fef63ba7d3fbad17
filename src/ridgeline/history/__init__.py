"""Findings and resources over time: the life cycle of each finding, and the difference between two scans."""
