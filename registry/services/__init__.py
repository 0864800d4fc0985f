"""Writes: every change to registry data goes through a function here."""
