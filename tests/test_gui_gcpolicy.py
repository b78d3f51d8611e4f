"""The garbage-collection policy of the desktop app: frozen start-up, rare automatic full passes, idle ones."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from console.gui.gcpolicy import THRESHOLDS, CollectWhenIdle


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_freezes_raises_thresholds_and_collects_only_when_idle(qtbot: QtBot, restored_gc: None) -> None:
    busy = [True]
    policy = CollectWhenIdle(lambda: busy[0], interval_ms=20)
    assert gc.get_threshold() == THRESHOLDS and gc.get_freeze_count() > 0
    assert policy.collect_if_idle() is False and policy.collections == 0
    busy[0] = False
    qtbot.waitUntil(lambda: policy.collections >= 1, timeout=5000)  # the timer found it idle
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert policy.collect_if_idle() is True


def test_live_activity_keeps_it_from_collecting_for_a_while(qtbot: QtBot, restored_gc: None) -> None:
    policy = CollectWhenIdle(lambda: False, interval_ms=60_000, quiet_s=0.3)
    assert policy.idle
    policy.activity([7])  # as a bridge signal calls it
    assert not policy.idle and policy.collect_if_idle() is False
    qtbot.waitUntil(lambda: policy.idle, timeout=5000)
    assert policy.collect_if_idle() is True


def test_freezing_again_takes_in_what_was_made_since(restored_gc: None) -> None:
    policy = CollectWhenIdle(lambda: False, interval_ms=60_000)
    before = gc.get_freeze_count()
    made_later = [[i] for i in range(1000)]
    policy.freeze()
    assert gc.get_freeze_count() >= before + len(made_later)
