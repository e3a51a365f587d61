"""Errors the CLI reports as one readable line (never a traceback)."""


class GtcrnBenchError(Exception):
    """Base of every error meant for the user: the message says what is wrong and what to do."""


class InputError(GtcrnBenchError):
    """Bad audio input: unreadable, empty, wrong channel count, too short, NaN."""


class CheckpointError(GtcrnBenchError):
    """A checkpoint or model file that is missing, unreadable or of the wrong architecture."""


class ChecksumError(GtcrnBenchError):
    """A file whose sha256 is not the pinned one."""


class ConfigError(GtcrnBenchError):
    """A bad runner name, runner parameter or suite file."""
