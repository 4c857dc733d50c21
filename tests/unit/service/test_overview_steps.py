"""The intervals of GetOverview's time series (service/overview.py: series_step)."""

from __future__ import annotations

from tickwork.service.overview import MAX_POINTS, series_step

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000


def test_the_step_is_the_shortest_that_gives_at_most_max_points() -> None:
    assert series_step(1) == MINUTE
    assert series_step(HOUR) == MINUTE  # the product's recommended hour: 60 points
    assert series_step(DAY) == MINUTE  # 1440 points
    assert series_step(DAY + 1) == 5 * MINUTE
    assert series_step(15 * DAY) == 15 * MINUTE  # the product's 15 days of data
    assert series_step(60 * DAY) == HOUR
    assert series_step(360 * DAY) == 6 * HOUR
    assert series_step(1440 * DAY) == DAY
    assert series_step(1440 * DAY + 1) == 2 * DAY
    for span in (1, MINUTE, 7 * DAY + 5, 3000 * DAY, 10**13):
        assert -(-span // series_step(span)) <= MAX_POINTS
