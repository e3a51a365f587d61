"""DNSMOS P.835 (SIG, BAK, OVRL) and P.808 through the models that ship inside the ``speechmos`` wheel.

speechmos's ``DNSMOS.__call__`` is the official DNSMOS pre-processing (9.01 s
windows hopped by 1 s, shorter clips repeated to length, the P.808 model on a
120-band log-mel spectrogram of each window, the P.835 outputs through the
published polynomial fits), so it is used as is rather than rewritten. What
this module changes is the sessions: speechmos builds them with default options
(every core) when ``speechmos.dnsmos.run`` is first called; here one scorer is
built lazily per process with the onnxruntime intra-op thread count taken from
``OMP_NUM_THREADS`` (set by the suite's workers; onnxruntime's default when
unset), so parallel worker processes do not oversubscribe the CPU. The models
are the same files and the scores equal ``speechmos.dnsmos.run`` (tested).
16 kHz only; the estimate's [-1, 1] range is checked before this is called.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.metrics.registry import GroupFunction, Metric, Pair, register
from gtcrn_bench.onnxrt import open_session, session_options

PRIMARY_MODEL = "dnsmos_models/sig_bak_ovr.onnx"  # P.835 SIG/BAK/OVRL, non-personalised
PERSONALISED_MODEL = "pdnsmos_models/sig_bak_ovr.onnx"  # P.835 trained to penalise interfering talkers
P808_MODEL = "dnsmos_models/model_v8.onnx"
OUTPUTS = {"dnsmos_sig": "sig_mos", "dnsmos_bak": "bak_mos", "dnsmos_ovrl": "ovrl_mos", "dnsmos_p808": "p808_mos"}

_scorers: dict[bool, Any] = {}


def model_dir() -> Path:
    """Where the installed speechmos wheel keeps its model files."""
    import speechmos

    return Path(speechmos.__file__).resolve().parent


def _session(path: Path, threads: int) -> Any:
    """A DNSMOS model session: ``threads`` intra-op threads (0 = onnxruntime's default), one inter-op."""
    return open_session(path, session_options(intra_threads=threads, inter_threads=1))


def scorer(personalised: bool = False) -> Any:
    """This process's DNSMOS scorer, non-personalised or personalised (created on first use, then reused)."""
    if personalised not in _scorers:
        from speechmos.dnsmos import DNSMOS

        threads = int(os.environ.get("OMP_NUM_THREADS") or 0)
        primary = model_dir() / (PERSONALISED_MODEL if personalised else PRIMARY_MODEL)
        # DNSMOS.__init__ would build default-option sessions; set the attributes
        # its __call__ reads (the same ones __init__ sets) with our sessions instead.
        made = DNSMOS.__new__(DNSMOS)
        made.primary_model_path = str(primary)
        made.onnx_sess = _session(primary, threads)
        made.p808_onnx_sess = _session(model_dir() / P808_MODEL, threads)
        _scorers[personalised] = made
    return _scorers[personalised]


def _dnsmos(pair: Pair) -> dict[str, float]:
    scores = scorer()(pair.estimate, SAMPLE_RATE, False)  # False: the non-personalised P.835 model
    return {name: float(scores[key]) for name, key in OUTPUTS.items()}


_DESCRIPTIONS = {
    "dnsmos_sig": "DNSMOS P.835 speech quality (SIG)",
    "dnsmos_bak": "DNSMOS P.835 background noise (BAK)",
    "dnsmos_ovrl": "DNSMOS P.835 overall quality (OVRL)",
    "dnsmos_p808": "DNSMOS P.808 overall quality",
}


def register_outputs(
    descriptions: dict[str, str], compute: GroupFunction, group: str, model: str, cost_ms_per_s: float, install: str
) -> None:
    """Register one metric per output of a DNSMOS-family model: one group, so one model call per utterance.

    Shared with :mod:`gtcrn_bench.metrics.pdnsmos`, whose model differs only in its weights and fits.
    """
    for name, what in descriptions.items():
        register(
            Metric(
                name=name,
                higher_is_better=True,
                needs_reference=False,
                package="speechmos",
                implementation=f"{what}, {model} bundled in the wheel, official DNSMOS pre-processing",
                compute=compute,
                cost_ms_per_s=cost_ms_per_s,
                group=group,
                unit="MOS",
                sample_rates=(SAMPLE_RATE,),
                modules=("speechmos", "onnxruntime", "librosa", "requests"),
                uses=("onnxruntime", "librosa"),
                install=install,
            )
        )


register_outputs(
    _DESCRIPTIONS, _dnsmos, "dnsmos", "ONNX models", cost_ms_per_s=44.2, install="pip install 'gtcrn-bench[metrics]'"
)
