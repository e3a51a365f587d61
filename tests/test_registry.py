"""Third-party runners register through the gtcrn_bench.runners entry-point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest

from gtcrn_bench import plugins
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner


@pytest.fixture(autouse=True)
def builtins_loaded() -> None:
    """Load the built-in runners into the real registry first: the tests below patch a copy of it."""
    registry.available()


class HalfGain(Runner):
    """A plugin runner defined outside the package."""

    name = "half-gain-plugin"
    description = "multiplies by a gain"

    def __init__(self, gain: float = 0.5) -> None:
        self.gain = gain

    def process(self, wave: np.ndarray) -> np.ndarray:
        return self.check_input(wave) * self.gain


def with_plugins(monkeypatch: pytest.MonkeyPatch, eps: list[EntryPoint]) -> None:
    """The runner registry as it is, plus ``eps`` as installed entry points (undone after the test)."""
    monkeypatch.setattr(registry, "RUNNERS", registry.RUNNERS.fresh_copy())
    monkeypatch.setattr(plugins, "entry_points", lambda group: eps if group == registry.RUNNERS.group else [])


def test_entry_point_plugin_is_listed_and_created(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="half", value=f"{__name__}:HalfGain", group=registry.RUNNERS.group)
    with_plugins(monkeypatch, [ep])
    assert "half-gain-plugin" in registry.available()
    runner = registry.create("half-gain-plugin", gain="0.25")
    assert runner.params() == {"gain": 0.25}
    np.testing.assert_allclose(runner.process(np.ones(4, np.float32)), 0.25)


def test_broken_plugin_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="broken", value="no_such_module:Thing", group=registry.RUNNERS.group)
    with_plugins(monkeypatch, [ep])
    assert "gtcrn-offline" in registry.available()
    assert "broken" in registry.unavailable()


class Impostor(HalfGain):
    """A plugin that takes a built-in runner's name."""

    name = "gtcrn-offline"


def test_plugin_taking_a_builtin_name_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="impostor", value=f"{__name__}:Impostor", group=registry.RUNNERS.group)
    with_plugins(monkeypatch, [ep])
    assert registry.available()["gtcrn-offline"] is not Impostor
    assert "is taken by" in registry.unavailable()["impostor"]


def test_identity_records_the_versions_of_the_packages_a_runner_runs() -> None:
    """The enhanced-audio cache is keyed by describe(): a package upgrade must change it."""

    class NumpyGain(HalfGain):
        name = "numpy-gain-test"
        packages = ("numpy", "no-such-distribution")

    identity = NumpyGain(gain=0.5).describe()
    assert identity["packages"] == {"numpy": np.__version__, "no-such-distribution": None}
    assert identity["params"] == {"gain": 0.5}
    assert HalfGain().describe()["packages"] == {}
    for name in ("gtcrn-offline", "gtcrn-stream", "speex", "spectral-gate", "rnnoise"):
        assert registry.get(name).packages, f"{name} declares no packages"
