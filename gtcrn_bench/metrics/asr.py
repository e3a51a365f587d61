"""Word and character error rates of an ASR system on the estimate: does enhancement help or hurt recognition?

The recogniser is PocketSphinx (CMU Sphinx, ``pocketsphinx`` wheel, with its
bundled US-English acoustic model, language model and dictionary: nothing is
downloaded). Its default decoder is run on the 16 kHz estimate as PCM16, in one
utterance. Error rates come from ``jiwer`` (``wer``, ``cer``) against:

- the utterance's transcript, when the dataset has one (``Pair.transcript``;
  ``vctk-demand`` fetches ``testset_txt.zip``, a ``paired-dir`` set may hold
  ``text/<name>.txt``), else
- PocketSphinx's own transcription of the clean reference, so the figure is
  the error the noise and the enhancement add for this recogniser.

Which of the two was used is recorded in the run's metric provenance. Both
texts are normalised with jiwer's transforms (lower case, punctuation removed,
spaces collapsed). WER and CER are 0 for identical texts, lower is better, and
can exceed 1 (insertions). PocketSphinx is a weak recogniser: differences
between systems are meaningful, absolute values are not comparable with
Whisper-class figures.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.metrics.registry import Metric, MetricError, Pair, register

_decoder: Any = None
_initial_cmn: str = ""


def decoder() -> Any:
    """This process's PocketSphinx decoder with the wheel's default English models (created once, logging off)."""
    global _decoder, _initial_cmn
    if _decoder is None:
        from pocketsphinx import Decoder

        _decoder = Decoder(samprate=SAMPLE_RATE, logfn="/dev/null")
        _initial_cmn = _decoder.get_cmn()
    return _decoder


def pcm16(wave: np.ndarray) -> bytes:
    """A float wave in [-1, 1] as the little-endian 16-bit PCM PocketSphinx decodes."""
    return np.round(np.clip(wave, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def decode(pcm: bytes) -> str:
    """PocketSphinx's best hypothesis for 16 kHz PCM16 audio ('' when it hears no words).

    The decoder adapts its feature pipeline (noise estimate, cepstral mean) from
    one utterance to the next, so the same audio could be transcribed differently
    depending on what was decoded before (measured: a clean file scored WER 0.4
    against itself). Each call therefore starts from the freshly loaded state,
    which also makes the result a function of the audio alone.
    """
    dec = decoder()
    dec.reinit_feat()
    dec.set_cmn(_initial_cmn)
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()
    hypothesis = dec.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


def recognise(wave: np.ndarray) -> str:
    """PocketSphinx's best hypothesis for a 16 kHz float wave in [-1, 1] ('' when it hears no words)."""
    return decode(pcm16(wave))


#: the clean reference is the same for every runner of an utterance, and a decode depends on the audio alone
#: (see :func:`decode`), so a worker transcribes each reference once; a few entries cover the runners of the
#: utterances a worker has in flight
decode_reference = functools.lru_cache(maxsize=16)(decode)


def _transforms(chars: bool) -> Any:
    import jiwer

    reduce = jiwer.ReduceToListOfListOfChars() if chars else jiwer.ReduceToListOfListOfWords()
    return jiwer.Compose(
        [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip(), reduce]
    )


def error_rates(reference: str, hypothesis: str) -> dict[str, float]:
    """``wer`` and ``cer`` of ``hypothesis`` against ``reference`` after jiwer's normalisation."""
    import jiwer

    words = _transforms(chars=False)
    if not words(reference)[0]:
        raise MetricError("the reference text has no words, so WER is undefined")
    chars = _transforms(chars=True)
    return {
        "wer": float(jiwer.wer(reference, hypothesis, reference_transform=words, hypothesis_transform=words)),
        "cer": float(jiwer.cer(reference, hypothesis, reference_transform=chars, hypothesis_transform=chars)),
    }


def reference_text(pair: Pair) -> str:
    """The transcript when the dataset has one, else PocketSphinx on the clean reference."""
    if pair.transcript is not None:
        return pair.transcript
    text = decode_reference(pcm16(pair.need_reference()))
    if not text:
        raise MetricError("PocketSphinx hears no words in the clean reference and the dataset has no transcript")
    return text


def _asr(pair: Pair) -> dict[str, float]:
    return error_rates(reference_text(pair), recognise(pair.estimate))


_INSTALL = "pip install 'gtcrn-bench[asr]'"
for _name, _unit in (("wer", "word error rate"), ("cer", "character error rate")):
    register(
        Metric(
            name=_name,
            higher_is_better=False,
            needs_reference=True,
            package="pocketsphinx",
            implementation=f"PocketSphinx (bundled en-us models) {_unit} via jiwer, against the dataset's "
            "transcript, else PocketSphinx on the clean reference",
            compute=_asr,
            cost_ms_per_s=787.5,
            group="asr",
            sample_rates=(SAMPLE_RATE,),
            modules=("pocketsphinx", "jiwer"),
            uses=("jiwer",),
            install=_INSTALL,
        )
    )
