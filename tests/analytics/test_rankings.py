"""Top fans read from each month's top list (PostgreSQL) equal a full count, whatever the spread."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from servicehub.analytics import fans
from servicehub.analytics.clock import Grain
from servicehub.analytics.filters import Filters
from servicehub.analytics.rollup import _recompute_fans_of_all
from servicehub.core.bulk import insert_rows
from servicehub.core.models import FanMonthly
from servicehub.core.runtime import Runtime
from tests.factories import build_world, principal_of

YEAR = Filters(first=date(2026, 1, 1), last=date(2026, 12, 31), grain=Grain.MONTH)


@pytest.mark.parametrize(("loyal", "skew", "seed"), [(True, 1.0, 1), (False, 1.0, 2), (False, 0.4, 3)])
def test_shortlisted_rankings_equal_a_full_count(
    pg_runtime: Runtime, loyal: bool, skew: float, seed: int
) -> None:
    """Loyal fans (the same heavy fans every month, as fans are) let the top lists decide; a
    random spread makes them fall back to counting everyone -- with the same answer."""
    world = build_world(pg_runtime)
    rng = random.Random(seed)
    rows = []
    for account_id in (world.inhouse_account_id, world.partner_account_id):
        for month in range(1, 13):
            customers = rng.sample(range(1, 4000), 300)
            if loyal:
                customers = sorted(set(customers) | set(range(1, 41)))
            for customer_id in customers:
                rows.append(
                    {
                        "month": date(2026, month, 1),
                        "account_id": account_id,
                        "customer_id": customer_id,
                        "interactions": 1
                        + min(9999, int(rng.paretovariate(skew) * 3 if skew < 2 else 40 / customer_id**0.5)),
                        "positive": 0,
                        "negative": 0,
                        "followers": rng.randrange(0, 100_000) if customer_id % 7 else customer_id * 31,
                    }
                )
    with pg_runtime.sessions.begin() as s:
        insert_rows(s, FanMonthly, rows)
        for month in range(1, 13):
            _recompute_fans_of_all(s, date(2026, month, 1))
    with pg_runtime.sessions() as s:
        who = principal_of(s, world.manager_id)
        both = (world.inhouse_account_id, world.partner_account_id)
        # Every account (their monthly sums), and the same accounts chosen by filter (per account).
        for filters in (YEAR, replace(YEAR, account_ids=both)):
            for measure in ("interactions", "followers"):
                shortlist = fans._shortlist(s, who, filters, measure, 20)
                everyone = fans._counted(s, who, filters, measure, 20, None)
                assert len(everyone) == 20
                assert fans._ranked(s, who, filters, measure, 20) == everyone
                if loyal:
                    assert shortlist is not None, measure
                if shortlist is not None:
                    assert len(shortlist) < 4000
                    assert fans._counted(s, who, filters, measure, 20, shortlist) == everyone
        assert fans._counted(s, who, YEAR, "interactions", 20, None) == fans._counted(
            s, who, replace(YEAR, account_ids=both), "interactions", 20, None
        )
