"""``vctk-demand``: the VoiceBank+DEMAND test set (824 pairs) as fetched by ``gtcrn-bench fetch vctk-demand``.

It is a ``paired-dir`` set at 16 kHz. The fetched set (in the store,
``<store home>/data/vctk-demand``) must have its manifest; a root given instead
may be any folder of such pairs, checked against a manifest where it has one.
"""

from __future__ import annotations

from pathlib import Path

from gtcrn_bench.datasets.manifest import FILE_NAME
from gtcrn_bench.datasets.paired import PairedDirDataset
from gtcrn_bench.datasets.registry import register
from gtcrn_bench.errors import InputError
from gtcrn_bench.store import home

DATASHARE_HANDLE = "10283/2791"
DATASHARE_URL = f"https://datashare.ed.ac.uk/bitstream/handle/{DATASHARE_HANDLE}"
# archive name -> (side, folder inside the archive and in a --from DIR)
ARCHIVES = {
    "clean_testset_wav.zip": ("clean", "clean_testset_wav"),
    "noisy_testset_wav.zip": ("noisy", "noisy_testset_wav"),
}
PAIRS = 824  # size of the published test set (speakers p232 and p257)


def default_dir() -> Path:
    """``<store home>/data/vctk-demand``."""
    return home() / "data" / "vctk-demand"


@register("vctk-demand")
class VctkDemandDataset(PairedDirDataset):
    """The fetched test set; a missing one raises an error saying how to fetch it.

    Given a root (``--data DIR``, ``dataset.root``), any folder of such pairs
    will do, e.g. the 16 kHz test set another project made: its manifest is
    checked when there is one, and its absence is announced (``manifest: true``
    makes it required again).
    """

    kind = "vctk-demand"

    def __init__(
        self,
        root: str | Path | None = None,
        manifest: bool | str | Path | None = None,
        limit: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        fetched = root is None  # the set `fetch vctk-demand` made: it must be there, with its manifest
        root = Path(root).expanduser() if root is not None else default_dir()
        if not (root / FILE_NAME).is_file() and (fetched or manifest is True):
            raise InputError(
                f"{root}: the VoiceBank+DEMAND test set is not there (no {FILE_NAME}); run "
                "`gtcrn-bench fetch vctk-demand` (or `... --from DIR` with the unpacked archives)"
            )
        super().__init__(root, manifest=manifest, limit=limit, cache_dir=cache_dir)
