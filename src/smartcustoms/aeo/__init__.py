"""Authorised Economic Operators: the operator registry, AEO certificates and MRA partners.

Trusted traders are controlled less (WCO SAFE Framework of Standards, Pillar 2; Art. 38 of
the Union Customs Code). This package knows who they are on a given day; the risk domain
turns that status into a lower selection weight (:mod:`smartcustoms.risk.policy`). It
imports the canonical model and the kernel only, never the risk domain.
"""

from __future__ import annotations

from smartcustoms.aeo.registry import (
    AEO_STATUS,
    DEFAULT_OPERATOR_COLUMNS,
    AeoCertificate,
    AeoStatus,
    CertificateStatus,
    CertificateType,
    MraPartner,
    Operator,
    OperatorRegistry,
    check_operators,
    example_operators_path,
    load_operators,
    merge_registries,
    with_aeo_status,
)

__all__ = [
    "AEO_STATUS",
    "DEFAULT_OPERATOR_COLUMNS",
    "AeoCertificate",
    "AeoStatus",
    "CertificateStatus",
    "CertificateType",
    "MraPartner",
    "Operator",
    "OperatorRegistry",
    "check_operators",
    "example_operators_path",
    "load_operators",
    "merge_registries",
    "with_aeo_status",
]
