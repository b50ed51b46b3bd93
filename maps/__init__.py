"""Folium maps built by pure functions from plain data; no database or Flask here."""
