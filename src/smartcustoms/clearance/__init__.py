"""The clearance path: intake -> validation -> quality -> tariff -> store, chunk by chunk.

This module composes the domains (intake, tariff) with the store; it is what
``smartcustoms clear`` and :meth:`smartcustoms.platform.SmartCustoms.clear` run. Each chunk is
one database transaction, and every record of a chunk ends in exactly one of three states:

* ``accepted`` - stored (consignments, items, assessment, lifecycle events);
* ``duplicate`` - the same filing id with the same content is already on file: an idempotent
  no-op, reported as accepted;
* ``quarantined`` - stored whole in quarantine with every problem.

So ``accepted + quarantined = received`` for every run, whatever the input.

Content identity. A filing's *content hash* is SHA-256 over its canonical fields (not its
bytes): the same filing re-sent with keys in another order, other whitespace or ``"12.50"``
for ``12.5`` is the same filing.
"""

from __future__ import annotations

from smartcustoms.clearance.identity import content_hashes, quarantine_id
from smartcustoms.clearance.runner import Clearance, PreparedBatch
from smartcustoms.clearance.summary import RESULT_SCHEMA, ChunkOutcome, ClearSummary

__all__ = [
    "RESULT_SCHEMA",
    "ChunkOutcome",
    "ClearSummary",
    "Clearance",
    "PreparedBatch",
    "content_hashes",
    "quarantine_id",
]
