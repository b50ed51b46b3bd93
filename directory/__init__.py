"""The resource directory: districts, venues, organisations, resources and schedules.

This package imports nothing else of Tsunagu's (the arrows point web → maps → matching →
directory), so scripts, notebooks and tests can use it without Flask.
"""
