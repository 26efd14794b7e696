"""The service's routers, one per audience; each is mounted under ``/api/v1``.

``system`` (health, the caller, problem types), ``filings`` (filers), ``officer``,
``analyst`` and ``events``. The Time Release Study and the partner ledger add routers of
their own the same way (:data:`smartcustoms.api.app.ROUTERS`).
"""

__all__: list[str] = []
