"""Settings, declared as data and read from ``SMARTCUSTOMS_*`` environment variables.

Every setting is documented here and in ``docs/configuration.md`` (a test keeps the two in
step). Nothing is read at import time: call :func:`load_settings`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "DEFAULT_SECRET_KEY", "Settings", "load_settings"]

DEFAULT_DATABASE_URL = "sqlite:///smartcustoms.db"
"""The embedded default: a SQLite file in the working directory, created on first use."""

DEFAULT_SECRET_KEY = "development-only-secret-change-me"
"""Signs sessions in development; the service refuses it when ``environment=production``."""


class Settings(BaseSettings):
    """Platform settings. Each field ``x`` is read from ``SMARTCUSTOMS_X``."""

    model_config = SettingsConfigDict(env_prefix="SMARTCUSTOMS_", extra="forbid", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description=(
            "SQLAlchemy URL of the store. SQLite (WAL mode) by default; "
            "PostgreSQL with postgresql+psycopg://user@host/db."
        ),
    )
    regime: str = Field(
        default="eu-2026-07",
        description="Id of the duty/tax regime applied by `clear` (see docs/regimes.md).",
    )
    exchange_rates: str | None = Field(
        default=None,
        description=(
            "Exchange-rate table (TOML or CSV, see docs/tariff-files.md). Default: the shipped "
            "illustrative ECB table, which only suits demos and tests."
        ),
    )
    tariff_schedule: str | None = Field(
        default=None,
        description="Tariff schedule file (TOML). Default: the shipped indicative eu-demo.",
    )
    chunk_size: int = Field(
        default=50_000,
        ge=1,
        description="Records read, validated and written per batch on the bulk path.",
    )
    value_tolerance: Decimal = Field(
        default=Decimal("0.01"),
        ge=0,
        description=(
            "Relative tolerance between the declared total value and the sum of item values "
            "(0.01 = 1 %), with an absolute floor of one minor currency unit."
        ),
    )
    max_days_past: int = Field(
        default=365,
        ge=0,
        description="Dates further than this many days before today are out of the sane window.",
    )
    max_days_future: int = Field(
        default=60,
        ge=0,
        description="Dates further than this many days after today are out of the sane window.",
    )
    risk_rules: str | None = Field(
        default=None,
        description=(
            "Targeting-rules file (TOML, see docs/risk-rules.md). Default: the shipped "
            "illustrative ruleset; `none` runs without rules."
        ),
    )
    risk_watchlists: str | None = Field(
        default=None,
        description=(
            "Watch-list files the rules refer to, separated by commas. Default: the shipped "
            "illustrative lists (with the shipped ruleset only)."
        ),
    )
    lane_policy: str | None = Field(
        default=None,
        description=(
            "Lane policy file (capacities, expected rates, random share, AEO benefits; see "
            "docs/risk-lanes.md). Default: the shipped default policy."
        ),
    )
    operators: str | None = Field(
        default=None,
        description=(
            "Operator registry file (AEO certificates, MRA partners; see docs/aeo.md). "
            "Default: none, so no operator gets AEO benefits."
        ),
    )
    home_country: str = Field(
        default="EU",
        description=(
            "Issuing authority whose AEO certificates count as national (ISO 3166 alpha-2 "
            "code, or EU for the Union)."
        ),
    )
    ledger_origin: str = Field(
        default="smartcustoms.example/log",
        description=(
            "Origin of this administration's ledger (the first line of its checkpoints, a "
            "schema-less URL prefix such as customs.example.org/log) and the issuer named in "
            "its statements."
        ),
    )
    ledger_dir: str = Field(
        default="smartcustoms-ledger",
        description=(
            "Folder of the ledger: its tiles, entries and state (C2SP tlog-tiles layout), the "
            "signing key when generated, and the witness state."
        ),
    )
    ledger_keys: str | None = Field(
        default=None,
        description=(
            "File holding the ledger's private keys (log, statements, witness; Ed25519). "
            "Default: keys.json in ledger_dir, generated on first use with mode 0600."
        ),
    )
    mra_policy: str | None = Field(
        default=None,
        description=(
            "Signed MRA trust policy: partner logs and their keys, witnesses and the quorum "
            "(see docs/ledger-trust.md). Default: policy.note in ledger_dir when present, "
            "written by `smartcustoms mra add-partner`; otherwise no partner log is trusted."
        ),
    )
    risk_seed: int = Field(
        default=42,
        description="Seed of random exploration picks and of model training.",
    )
    drift_warning: float = Field(
        default=0.25,
        gt=0,
        description="Population stability index of live vs training scores above which "
        "`risk drift` warns.",
    )
    environment: str = Field(
        default="development",
        pattern="^(development|production)$",
        description="development or production. In production the service refuses to start "
        "with the default secret key and marks session cookies Secure (HTTPS only).",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        description="Key that signs portal session cookies and CSRF tokens. Set a long random "
        "value in production (`python -c 'import secrets; print(secrets.token_urlsafe(48))'`).",
    )
    api_key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a service process trusts an API key it has checked against "
        "the store, in seconds (0: check every request). A key or user revoked in the same "
        "process stops working at once; one revoked elsewhere (another process, the CLI) "
        "within this time.",
    )
    fast_decisions: bool = Field(
        default=True,
        description="Decide clean, new single filings (`POST /filings`) on the row-wise fast "
        "path, the batch path's exact mirror (docs/api.md); `false` sends every filing "
        "through the batch pipeline.",
    )
    max_filing_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1,
        description="Largest single filing `POST /filings` and a quarantine resubmission "
        "accept, in bytes (4 MiB by default); a larger one is refused with 413 "
        "filing.too_large. Send more as a bulk file.",
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1,
        description="Largest bulk file `POST /filings/bulk` accepts, in bytes (512 MiB by "
        "default); a larger one is refused with 413 filing.too_large. Uploads are stored in "
        "the database until their job ends.",
    )


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, then apply explicit ``overrides``.

    Args:
        **overrides: Field values that win over the environment (``None`` values are ignored,
            so CLI options can be passed through unconditionally).

    Returns:
        The frozen settings.
    """
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
