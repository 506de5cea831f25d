from __future__ import annotations

import datetime as dt

import pytest

from envcheck.matrix.report import age_days, age_words


@pytest.mark.parametrize(
    "updated, today, words",
    [
        ("2026-11-22", dt.date(2026, 11, 22), "today"),
        ("2026-11-21T23:59:59Z", dt.date(2026, 11, 22), "1 day old"),
        ("2026-01-01", dt.date(2026, 11, 22), "325 days old"),
    ],
)
def test_age(updated, today, words):
    assert age_words(updated, today) == words
    assert age_days(updated, today) >= 0
