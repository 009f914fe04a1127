"""Foundations every layer may use: the error types, Ctrl-C handling and file helpers."""
