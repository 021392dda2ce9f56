"""The service-term dictionary administrators keep: product and service names that segment whole."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class KeywordTerm(Base):
    """One term (5G套餐, 携号转网 ...) that listening tasks, routing rules and trends read whole."""

    __tablename__ = "keyword_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(40), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
