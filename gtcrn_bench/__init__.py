"""gtcrn-bench: benchmark and evaluation harness for GTCRN and lightweight speech enhancement."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gtcrn-bench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
