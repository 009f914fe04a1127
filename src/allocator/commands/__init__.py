"""Command modules of the ``allocate`` CLI, one per area; each exposes ``COMMANDS``."""
