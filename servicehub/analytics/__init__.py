"""Analytics for managers: rollups kept by periodic tasks, read-only dashboards, CSV export.

- ``rollup``: the rollup tables (``core.models.analytics``) kept current incrementally and
  rebuildable; ``snapshots``: follower counts within the API budget; ``tasks``: both as tasks.
- ``fans``, ``graph``, ``trends``, ``publishing``, ``service``: one dashboard each (charts and
  tables in the neutral terms of ``charts``), by name in ``dashboards``.
- ``rows``: the rows behind a figure (drill-down, keyset-paged); ``export``: CSV.
- ``alerts``: spikes for the managers' home page; ``panels``: the hook other features use
  to add panels to the service dashboard.

Every figure reads through ``permissions.restrict`` (function ``analytics.view``).
"""
