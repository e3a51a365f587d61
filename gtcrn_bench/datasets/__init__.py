"""Datasets: where the evaluation audio comes from, as 16 kHz (clean, noisy) pairs.

Kinds are looked up by name (:func:`get`, :func:`open_dataset`); the built-in
ones are ``paired-dir`` (any clean/ + noisy/ folder, optional sha256 manifest)
and ``vctk-demand`` (the VoiceBank+DEMAND test set made by
``gtcrn-bench fetch vctk-demand``). New kinds plug in with :func:`register`.
"""

from gtcrn_bench.datasets.paired import LENGTH_TOLERANCE_S, PairedDirDataset
from gtcrn_bench.datasets.registry import Dataset, get, kinds, open_dataset, register
from gtcrn_bench.datasets.utterance import Utterance, UtteranceError
from gtcrn_bench.datasets.vctk_demand import VctkDemandDataset

__all__ = [
    "LENGTH_TOLERANCE_S",
    "Dataset",
    "PairedDirDataset",
    "Utterance",
    "UtteranceError",
    "VctkDemandDataset",
    "get",
    "kinds",
    "open_dataset",
    "register",
]
