"""The service's routers, one per audience; each is mounted under ``/api/v1``.

``system`` (health, the caller, problem types); for filers ``filings`` (one filing, customs
responses), ``jobs`` (bulk files) and ``quarantine`` (rejected filings, resubmission);
``officer``, ``analyst`` and ``events``. The Time Release Study and the partner ledger add
routers of their own the same way (:data:`smartcustoms.api.app.ROUTERS`).
"""

__all__: list[str] = []
