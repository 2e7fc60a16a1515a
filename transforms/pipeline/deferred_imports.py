"""Modules whose import is deferred to their first use, for the length of one import.

Great Expectations imports every expectation it ships when it is imported. One of them,
the KL-divergence expectation, imports `scipy.stats` and `altair` at module level: about
0.9 s of GX's 2.2 s import in a fresh process (docs/performance.md, "GX's import without
scipy.stats and altair"). The coupon suite uses neither. Imported through
`importlib.util.LazyLoader`, each of the two is a module object whose code runs on its
first attribute access, so a suite that one day uses such an expectation still gets the
real module, only later.

The finder sits on the process's `sys.meta_path` while the block runs. GX is imported on
a warm-up thread in the CLI, so another thread importing one of the names meanwhile also
gets the deferred module; it loads on that thread's first use, as for GX. A module found
by another finder than the standard path finder is imported as usual.
"""

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator


class _DeferringFinder(importlib.abc.MetaPathFinder):
    def __init__(self, names: frozenset[str]):
        self.names = names

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def deferred(*names: str) -> Iterator[None]:
    """Within the block, an import of one of `names` that is not loaded yet gives a module
    that loads itself on first use. Other imports, and any import after the block, are
    untouched; a module loaded before the block stays what it is."""
    finder = _DeferringFinder(frozenset(names))
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
