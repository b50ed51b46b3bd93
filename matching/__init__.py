"""Needs recorded at intake, the scoring engine, matches and unmet needs per district.

Reads the directory (``matching → directory``), never the web.
"""
