"""ccxt without importing every exchange it ships.

``import ccxt.async_support`` runs ``ccxt/__init__.py`` and ``ccxt/async_support/__init__.py``,
which import all ~110 exchange classes of each flavour: about 0.2 s of CPU before the demo's
first data, for the three or four exchanges a portfolio uses. After ``install()`` (an import
hook on ``sys.meta_path``), importing ``ccxt``, ``ccxt.async_support`` or ``ccxt.pro`` gives a
package that runs its own ``__init__``'s ``from M import NAME`` lines one name at a time, when
``NAME`` is first asked for (``ccxt.async_support.binance``, ``from ccxt import NetworkError``).
Anything else the ``__init__`` defines (``ccxt.exchanges``, ``__version__``) runs the whole
``__init__``, as a plain import would have. So every name means what it means in ccxt; only
the moment its module is imported changes. Importing a package's submodule binds the
package's name to the module; ccxt's ``__init__`` then rebinds it to the class of the same
name, and so does this.

A process that imported ccxt before ``install()`` keeps its ordinary ccxt.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

PACKAGES = ("ccxt", "ccxt.async_support", "ccxt.pro")


def _init_imports(spec: importlib.machinery.ModuleSpec) -> dict[str, str]:
    """NAME -> module, for each top-level ``from module import NAME`` of a package's __init__."""
    assert spec.origin is not None
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), spec.origin)
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                out[alias.asname or alias.name] = node.module
    return out


class _LazyPackage(types.ModuleType):
    """A package whose __init__'s imports run per name, on first use (see the module's doc)."""

    def _imports(self) -> dict[str, str]:
        d = self.__dict__
        if "_lazy_imports" not in d:
            d["_lazy_imports"] = _init_imports(d["__spec__"])
        return d["_lazy_imports"]

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if d.get("_lazy_whole") or not d.get("_lazy_ready"):  # the import system is still setting it up
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        # no lock of ours around the imports (the import system's locks are enough): a lock
        # held across an import could deadlock with a thread importing a ccxt module that asks
        # for a name here. Two threads racing only import or bind the same thing twice.
        source = self._imports().get(name)
        if source is not None:
            value = getattr(importlib.import_module(source), name)
            d[name] = value
            return value
        # a name the __init__ defines some other way: run it whole, as `import` would have
        code = importlib.machinery.SourceFileLoader(self.__name__, d["__file__"]).get_code(self.__name__)
        exec(code, d)  # noqa: S102 - ccxt's own __init__
        d["_lazy_whole"] = True
        if name in d:
            return d[name]
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        # the import system binds a submodule (ccxt.async_support.binance, the module) on its
        # package; the __init__ binds that name to the class it imports from there
        if isinstance(value, types.ModuleType) and self._imports().get(name) == value.__name__:
            value = value.__dict__.get(name, value)
        super().__setattr__(name, value)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _LazyPackage(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing is imported yet: each name is, when first asked for."""
        module.__dict__["_lazy_ready"] = True


class _Finder(importlib.abc.MetaPathFinder):
    """Makes ``import ccxt`` (and its two exchange packages) give the lazy packages."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in PACKAGES:
            return None
        found = importlib.machinery.PathFinder.find_spec(fullname, path)
        if found is None or found.submodule_search_locations is None or found.origin is None:
            return None  # not installed (or not a package): the ordinary import reports it
        return importlib.util.spec_from_file_location(
            fullname, found.origin, loader=_Loader(), submodule_search_locations=found.submodule_search_locations)


def install() -> None:
    """From now on, ``import ccxt`` gives the lazy packages (unless it is imported already)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
