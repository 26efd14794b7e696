"""The verifiable ledger (placeholder until the ``ledger-core`` branch is merged)."""

__all__: list[str] = []
