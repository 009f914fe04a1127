"""Modules imported on first use, for the imports that make a command slow to start."""

from __future__ import annotations

import importlib
import types
from typing import Any


class _LazyModule(types.ModuleType):
    """A stand-in that imports the module it names when an attribute is first read."""

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        # Later reads find the attributes here and no longer come through this method.
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def lazy_module(name: str) -> types.ModuleType:
    """A stand-in for module ``name`` that imports it when one of its attributes is first read.

    Parameters
    ----------
    name:
        The module's full name, e.g. ``"numpy"``.

    Returns
    -------
    types.ModuleType
        An object that behaves as the module once used; until then ``name`` is not imported
        and not in ``sys.modules``.
    """
    return _LazyModule(name)


__all__ = ["lazy_module"]
