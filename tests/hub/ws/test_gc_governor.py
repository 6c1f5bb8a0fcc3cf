"""The collector governor: freeze as connections grow, reclaim once enough of them closed."""

from __future__ import annotations

import gc

from hub.ws.gc_governor import FREEZE, RECLAIM, Churn, CollectorGovernor, decide


def test_growth_by_a_tenth_freezes() -> None:
    """New connections beyond a tenth of those open (and at least 100) are frozen."""
    assert decide(2000, Churn(opened=150), Churn(opened=150), 60) is None
    assert decide(2000, Churn(opened=201), Churn(opened=201), 60) == FREEZE
    assert decide(10, Churn(opened=50), Churn(opened=50), 60) is None


def test_a_quarter_closed_reclaims() -> None:
    """Closed connections beyond a quarter of those open (and at least 200) are reclaimed, and
    so is anything closed once six hours have passed."""
    assert decide(2000, Churn(closed=400), Churn(closed=400), 60) is None
    assert decide(2000, Churn(), Churn(closed=501), 60) == RECLAIM
    assert decide(2000, Churn(), Churn(closed=3), 7 * 3600) == RECLAIM
    assert decide(2000, Churn(), Churn(), 7 * 3600) is None


async def test_governor_freezes_reclaims_and_unfreezes_at_stop() -> None:
    """Start freezes what exists, a reclaim frees closed connections' cycles, stop unfreezes."""
    governor = CollectorGovernor(lambda: 100, interval=3600)
    governor.start()
    try:
        assert gc.get_freeze_count() > 0
        cycles: list[list[object]] = [[] for _ in range(10)]
        for cycle in cycles:
            cycle.append(cycle)  # cyclic garbage, like a closed connection's objects
        gc.freeze()
        del cycles
        for _ in range(250):
            governor.closed()
        assert governor.step() == RECLAIM
        assert governor.since_reclaim == Churn()
    finally:
        await governor.stop()
    assert gc.get_freeze_count() == 0
