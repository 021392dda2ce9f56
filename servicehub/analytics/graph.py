"""人脉关系图: one account, its most active fans, and the ties among them.

A fan is linked to the account by its interactions (the link's weight) and, when the
account's follower list shows the fan, by following it. Fans are linked to each other when
one mentioned, replied to or reposted the other in what the account heard (``TieDaily``).
A fan-to-fan follow is not shown: platforms reveal followers only to the followed account
itself. Nodes are sized by influence (the fan's own followers) and coloured by the
sentiment of its messages; the period is the months it touches (fan activity is monthly),
ties count the period's days exactly.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.analytics.charts import Cell, Chart, Dashboard, Series, Table, scoped
from servicehub.analytics.fans import top_fans, visible_accounts
from servicehub.analytics.filters import Filters
from servicehub.core.models import CustomerIdentity, Follower, TieDaily
from servicehub.core.permissions import Principal

GRAPH_FANS = 40
MOOD = ("negative", "neutral", "positive")


def mood(fan: dict[str, Any]) -> str:
    """How a fan's messages read: negative when three in ten are, positive when half are."""
    n = max(1, fan["interactions"])
    if fan["negative"] / n >= 0.3:
        return "negative"
    if fan["positive"] / n >= 0.5:
        return "positive"
    return "neutral"


def size(followers: int) -> float:
    return round(min(60.0, 10.0 + 6.0 * math.log10(followers + 1)), 1)


def graph(session: Session, who: Principal, filters: Filters, limit: int = GRAPH_FANS) -> Dashboard:
    accounts = visible_accounts(session, who, filters)
    notes = ["analytics.note.no_team"] if filters.team_ids else []
    if not accounts:
        empty = Chart(
            "graph",
            "analytics.graph.title",
            [],
            [],
            kind="graph",
            graph={"nodes": [], "links": [], "categories": ["account", *MOOD]},
        )
        return Dashboard("graph", filters, [empty], notes=notes)
    account = accounts[0]
    one = replace(filters, account_ids=(account.id,), team_ids=())
    fans = top_fans(session, who, one, limit=limit)
    ids = [f["customer_id"] for f in fans]
    ties = session.execute(
        scoped(
            select(
                TieDaily.source_customer_id,
                TieDaily.target_customer_id,
                TieDaily.kind,
                func.sum(TieDaily.ties),
            )
            .where(
                TieDaily.day >= filters.first,
                TieDaily.day <= filters.last,
                TieDaily.source_customer_id.in_(ids),
                TieDaily.target_customer_id.in_(ids),
            )
            .group_by(TieDaily.source_customer_id, TieDaily.target_customer_id, TieDaily.kind),
            who,
            TieDaily,
            one,
            teams=False,
        )
    ).all()
    following = set(
        session.scalars(
            scoped(
                select(CustomerIdentity.customer_id)
                .join(Follower, Follower.platform_uid == CustomerIdentity.platform_uid)
                .where(CustomerIdentity.platform == account.platform, CustomerIdentity.customer_id.in_(ids)),
                who,
                Follower,
                one,
                teams=False,
            )
        )
    )
    center = f"a{account.id}"
    nodes: list[dict[str, Any]] = [
        {"id": center, "name": account.display_name, "category": "account", "symbolSize": 64, "value": 0}
    ]
    links: list[dict[str, Any]] = []
    for fan in fans:
        node = f"c{fan['customer_id']}"
        nodes.append(
            {
                "id": node,
                "name": fan["name"],
                "category": mood(fan),
                "symbolSize": size(fan["followers"]),
                "value": fan["followers"],
                "interactions": fan["interactions"],
                "customer_id": fan["customer_id"],
            }
        )
        links.append({"source": node, "target": center, "kind": "interaction", "value": fan["interactions"]})
        if fan["customer_id"] in following:
            links.append({"source": node, "target": center, "kind": "follow", "value": 1})
    for source, target, kind, n in ties:
        links.append({"source": f"c{source}", "target": f"c{target}", "kind": str(kind), "value": int(n)})
    chart = Chart(
        key="graph",
        title="analytics.graph.title",
        categories=[],
        series=[Series("analytics.graph.title", [])],
        kind="graph",
        graph={"nodes": nodes, "links": links, "categories": ["account", *MOOD]},
        note="analytics.graph.note",
    )
    names = {f["customer_id"]: f["name"] for f in fans}
    fan_table = Table(
        key="graph-fans",
        title="analytics.graph.fans",
        columns=[
            "analytics.col.fan",
            "analytics.col.interactions",
            "analytics.col.followers",
            "analytics.col.mood",
            "analytics.col.follows_account",
        ],
        rows=[
            [
                Cell(f["name"], customer_id=f["customer_id"]),
                Cell(f["interactions"]),
                Cell(f["followers"]),
                Cell(f"analytics.mood.{mood(f)}", literal=False),
                Cell("analytics.yes" if f["customer_id"] in following else "analytics.no", literal=False),
            ]
            for f in fans
        ],
    )
    tie_table = Table(
        key="graph-ties",
        title="analytics.graph.ties",
        columns=["analytics.col.from", "analytics.col.to", "analytics.col.tie", "analytics.col.times"],
        rows=[
            [
                Cell(names.get(s, str(s)), customer_id=s),
                Cell(names.get(t, str(t)), customer_id=t),
                Cell(f"analytics.tie.{k}", literal=False),
                Cell(int(n)),
            ]
            for s, t, k, n in ties
        ],
    )
    return Dashboard(
        "graph",
        filters,
        [chart],
        [fan_table, tie_table],
        notes=notes,
        extra={"account": account, "accounts": accounts},
    )
