"""A country's official holidays, from the ``holidays`` package, loading that country only.

``holidays`` means to load countries lazily (``holidays.MX`` imports
``holidays.countries.mexico`` on first use). But importing any one country module first runs
``holidays/countries/__init__.py``, and that imports all ~250 of them: 7.9 MB of
``poa-bot run``'s resident memory, a twentieth of its 150 MB budget, for Mexico's handful of
days (its ``list_supported_countries`` loads them all too, to list their subdivisions). So
the package is registered here without running its ``__init__``. Python then imports
just the country module the package's own registry names, and a module-level ``__getattr__``
still answers ``from holidays.countries import X`` for anyone else. If the package is laid out
otherwise one day, the usual ``holidays.country_holidays`` is used, with its memory cost.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import sys
from datetime import date

import holidays
from holidays.registry import COUNTRIES, IMPORT_LOCK

_PACKAGE = "holidays.countries"


def is_known_country(code: str) -> bool:
    """Whether ``holidays`` has the country ``code`` (read from its registry; the package's
    ``list_supported_countries`` loads every country to list their subdivisions)."""
    return any(code in codes for _class_name, *codes in COUNTRIES.values())


@functools.cache  # asked for every day a deadline or reminder may move past
def official_holidays(country: str, year: int) -> frozenset[date]:
    """The official holidays of ``country`` (ISO code, e.g. ``MX``) in ``year``."""
    entity = _country_class(country)
    if entity is None:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    return frozenset(entity(years=year).keys())


def _country_class(code: str):
    module = _module_of(code)
    if module is None:
        return None
    with contextlib.suppress(ImportError, AttributeError), IMPORT_LOCK:
        _register_package_alone()
        return getattr(importlib.import_module(module), code)
    return None


def _module_of(name: str) -> str | None:
    """The module of the country called ``name`` (class name or code) in the registry."""
    for module, entities in COUNTRIES.items():
        if name in entities:
            return f"{_PACKAGE}.{module}"
    return None


def _register_package_alone() -> None:
    if _PACKAGE in sys.modules:
        return  # imported already (its countries are loaded anyway), or registered here
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{_PACKAGE} is not a package")
    package = importlib.util.module_from_spec(spec)  # its __path__, not its __init__
    package.__getattr__ = _country_attribute
    sys.modules[_PACKAGE] = package


def _country_attribute(name: str):
    """``holidays.countries.Mexico`` (or ``.MX``) on demand, as the full package offers it."""
    module = _module_of(name)
    if module is None:
        raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
