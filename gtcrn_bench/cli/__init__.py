"""The ``gtcrn-bench`` command line. Each command lives in its own module of this package.

Every module here is imported so its ``@app.command`` registrations take effect;
adding a command means adding a module, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from gtcrn_bench.cli.app import app

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["app"]
