"""The store: tables, migrations, bulk writes; SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from smartcustoms.store.bulk import BulkWriter
from smartcustoms.store.database import QuarantineEntry, Store

__all__ = ["BulkWriter", "QuarantineEntry", "Store"]
