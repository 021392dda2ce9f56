"""Sina Weibo adapter.

``client`` (the adapter), ``session`` (HTTP, errors, retries), ``paging`` (walk-back),
``mapping`` (JSON -> dataclasses), ``errors`` (codes -> hub errors), ``oauth`` (connecting
an account), ``push`` (fans-service callbacks), ``text`` (Weibo's length rule).
"""

from servicehub.adapters.weibo.client import WeiboAdapter

__all__ = ["WeiboAdapter"]
