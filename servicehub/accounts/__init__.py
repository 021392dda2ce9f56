"""Managed accounts: connecting them, their sealed credentials, their adapters, health and budget.

Sits between ``adapters`` (which know platforms) and the packages that use accounts
(``listener``, ``publishing``, ``workbench``): it builds an account's adapter from settings
and its sealed credentials, shares per-app tokens between processes, keeps each account's
hourly API budget, and holds the actions that connect, re-authorize and configure accounts.
"""
