"""Administration pages (organizations, users, teams, roles, grants, routing rules, listening tasks)."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
