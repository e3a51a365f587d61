"""Model cards: a small YAML file that describes a frame-wise spectral streaming ONNX model, so it runs without Python.

Dozens of tiny streaming denoisers ship the same way: one ONNX graph that takes
one STFT frame and its caches and returns the enhanced frame and the next
caches. A card says which graph (a store alias, a path, or a URL with its
sha256), which STFT, which tensors, every cache (shape, dtype, initial value,
the output that feeds it), the sample rate, the declared delay, and the
published complexity with its source. :func:`load_card` reads one and
:func:`check_against_graph` refuses a card whose names or shapes do not match
its graph, in one line naming the card file, the key, what the card says and
what the graph has.

Cards shipped: ``gtcrn-published`` and ``ul-unas`` (``gtcrn_bench/data/cards``);
a user's own card is a path.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gtcrn_bench.errors import CheckpointError, ConfigError, did_you_mean

PACKAGED_CARDS = Path(str(files("gtcrn_bench") / "data" / "cards"))
ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GraphRef(_Strict):
    """Where the graph is: exactly one of a store alias, a path (relative to the card) or a URL with its sha256."""

    store: str | None = None
    path: str | None = None
    url: str | None = None
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _one_source(self) -> GraphRef:
        given = [k for k, v in {"store": self.store, "path": self.path, "url": self.url}.items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of store, path, url (got {given or 'none'})")
        if self.url is not None and self.sha256 is None:
            raise ValueError("a url needs its sha256 (the graph is verified before use)")
        return self


class StftSpec(_Strict):
    """The STFT around the graph. The frame-wise STFT overlaps frames by half (hop = n_fft / 2), centred."""

    n_fft: int = Field(gt=0)
    hop: int = Field(gt=0)
    window: Literal["hann", "sqrt-hann"]
    center: Literal[True] = True

    @model_validator(mode="after")
    def _half_overlap(self) -> StftSpec:
        if self.n_fft != 2 * self.hop:
            raise ValueError(f"hop must be n_fft / 2 (the frame-wise STFT overlaps by half); got {self.hop}")
        return self


class TensorRef(_Strict):
    """A graph input or output: its name and shape, (1, F, 1, 2) for a frame: real and imaginary on the last axis."""

    name: str
    shape: list[int]


class CacheSpec(_Strict):
    """A state tensor carried from one frame to the next."""

    name: str
    shape: list[int]
    dtype: Literal["float32"] = "float32"
    initial: float = 0.0
    output: str  # the graph output that becomes this input at the next frame


class PublishedSpec(_Strict):
    """Size and compute the publication reports, with its source."""

    params: float | None = None
    macs_per_second: float | None = None
    source: str


class Card(_Strict):
    """A whole card file."""

    name: str
    description: str = ""
    graph: GraphRef
    sample_rate: Literal[16000] = 16000
    stft: StftSpec
    input: TensorRef
    output: TensorRef
    caches: list[CacheSpec] = Field(min_length=1)
    delay: int = Field(0, ge=0, description="samples the output lags beyond the STFT's own frame")
    published: PublishedSpec | None = None
    license: str = ""

    @property
    def frequencies(self) -> int:
        return self.stft.n_fft // 2 + 1


def card_names() -> list[str]:
    """The packaged cards, by name."""
    return sorted(p.stem for p in PACKAGED_CARDS.glob("*.yaml"))


def card_path(name_or_path: str | Path) -> Path:
    """A packaged card's name or a card file -> its path; an unknown name suggests the nearest one."""
    name = str(name_or_path)
    if name in card_names():
        return PACKAGED_CARDS / f"{name}.yaml"
    path = Path(name).expanduser()
    if path.is_file():
        return path
    hint = did_you_mean(name, card_names())
    raise ConfigError(f"card '{name}': neither a packaged card{hint} ({', '.join(card_names())}) nor a file")


def load_card(name_or_path: str | Path) -> tuple[Card, Path]:
    """The card and its file; :class:`ConfigError` naming the file and each bad key otherwise."""
    path = card_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return Card.model_validate(data), path
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def _listing(args: list[Any]) -> str:
    return ", ".join(f"{a.name} {list(a.shape)}" for a in args)


def check_against_graph(card: Card, path: Path, inputs: list[Any], outputs: list[Any]) -> None:
    """Refuse a card that does not describe its graph: one line naming the card, the key, the card's value and the
    graph's. ``inputs``/``outputs``: onnxruntime ``NodeArg`` lists of the graph."""
    by_in = {a.name: a for a in inputs}
    by_out = {a.name: a for a in outputs}

    def refuse(key: str, says: object, has: str) -> CheckpointError:
        return CheckpointError(f"{path}: {key}: the card says {says}, the graph has {has}")

    frame = [1, card.frequencies, 1, 2]
    if card.input.name not in by_in:
        raise refuse("input.name", repr(card.input.name), f"inputs {_listing(inputs)}")
    graph_shape = list(by_in[card.input.name].shape)
    if len(graph_shape) != 4 or graph_shape[2] != 1 or any(not isinstance(d, int) for d in graph_shape):
        raise refuse("input.shape", frame, f"{card.input.name} {graph_shape}: not frame-wise (one frame, static)")
    for key, ref, table in (("input", card.input, by_in), ("output", card.output, by_out)):
        if ref.name not in table:
            raise refuse(f"{key}.name", repr(ref.name), f"{key}s {_listing(inputs if key == 'input' else outputs)}")
        if list(ref.shape) != frame or list(table[ref.name].shape) != frame:
            raise refuse(f"{key}.shape", list(ref.shape), f"{ref.name} {list(table[ref.name].shape)}")
    for i, cache in enumerate(card.caches):
        for key, name, table in (("name", cache.name, by_in), ("output", cache.output, by_out)):
            if name not in table:
                kind = "inputs" if key == "name" else "outputs"
                listed = _listing(inputs if key == "name" else outputs)
                raise refuse(f"caches[{i}].{key}", repr(name), f"{kind} {listed}")
            if list(table[name].shape) != list(cache.shape):
                raise refuse(f"caches[{i}].shape", list(cache.shape), f"{name} {list(table[name].shape)}")
            if ORT_TYPES.get(table[name].type) != cache.dtype:
                raise refuse(f"caches[{i}].dtype", cache.dtype, f"{name} {table[name].type}")
    covered = {card.input.name, *(c.name for c in card.caches)}
    missing = [n for n in by_in if n not in covered]
    if missing:
        raise refuse("caches", f"{sorted(covered)}", f"inputs no entry feeds: {missing}")
