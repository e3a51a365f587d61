"""Errors the CLI reports as one readable line (never a traceback), and the hint for a near-miss name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'gtcrn-offline'?"`` for a near miss among ``known``, else an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class GtcrnBenchError(Exception):
    """Base of every error meant for the user: the message says what is wrong and what to do."""


class InputError(GtcrnBenchError):
    """Bad audio input: unreadable, empty, wrong channel count, too short, NaN."""


class CheckpointError(GtcrnBenchError):
    """A checkpoint or model file that is missing, unreadable or of the wrong architecture."""


class ChecksumError(GtcrnBenchError):
    """A file whose sha256 is not the pinned one."""


class OutputError(GtcrnBenchError):
    """A runner's output that cannot be scored: NaN or Inf (named by sample or frame), or the wrong length."""


class ConfigError(GtcrnBenchError):
    """A bad runner name, runner parameter or suite file."""
