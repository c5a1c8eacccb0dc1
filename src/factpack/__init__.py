"""factpack: publish research datasets built from annotated news articles.

``factpack.connect()`` and ``factpack.load()`` (see :mod:`factpack.researcher.api`) are
imported on first use, so ``import factpack`` stays fast.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "connect", "load"]


def __getattr__(name: str) -> Any:
    if name in ("connect", "load"):
        from factpack.researcher import api

        return getattr(api, name)
    raise AttributeError(f"module 'factpack' has no attribute {name!r}")
