"""Personalised DNSMOS P.835 (SIG, BAK, OVRL): the pDNSMOS model of the DNS challenges' personalised track.

It is the DNSMOS P.835 network retrained so that a second, interfering talker
counts as background noise (it lowers BAK and OVRL). The model ships in the
``speechmos`` wheel (``pdnsmos_models/sig_bak_ovr.onnx``); scores come from the
same speechmos ``DNSMOS.__call__`` as :mod:`gtcrn_bench.metrics.dnsmos` with its
``is_personalized_MOS`` flag set, which also selects the personalised polynomial
fits, i.e. what ``speechmos.dnsmos.run(..., model_type="dnsmos_personalized")``
returns. Its P.808 output is the non-personalised P.808 model's and is therefore
not registered again. 16 kHz only.
"""

from __future__ import annotations

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.metrics.dnsmos import register_outputs, scorer
from gtcrn_bench.metrics.registry import Pair

OUTPUTS = {"dnsmos_p_sig": "sig_mos", "dnsmos_p_bak": "bak_mos", "dnsmos_p_ovrl": "ovrl_mos"}
_DESCRIPTIONS = {
    "dnsmos_p_sig": "personalised DNSMOS P.835 speech quality (SIG)",
    "dnsmos_p_bak": "personalised DNSMOS P.835 background noise incl. interfering talkers (BAK)",
    "dnsmos_p_ovrl": "personalised DNSMOS P.835 overall quality (OVRL)",
}


def _pdnsmos(pair: Pair) -> dict[str, float]:
    scores = scorer(personalised=True)(pair.estimate, SAMPLE_RATE, True)
    return {name: float(scores[key]) for name, key in OUTPUTS.items()}


register_outputs(
    _DESCRIPTIONS, _pdnsmos, "pdnsmos", "ONNX model", cost_ms_per_s=45.2, install="pip install 'gtcrn-bench[pdnsmos]'"
)
