"""Our ledger, for partner administrations: checkpoints, tiles, proofs, documents, witness.

The read routes follow C2SP tlog-tiles under ``/api/v1/ledger`` (``checkpoint``,
``tile/<L>/<N>[.p/<W>]``, ``tile/entries/<N>[.p/<W>]``), so a partner reads our log as it
would any tiled log; proofs and offline bundles are computed here for convenience. The
witness route is C2SP tlog-witness ``add-checkpoint``: a partner log asks us to cosign its
checkpoint; errors keep the problem-details shape, with the witness status codes (400, 403,
404, 409 with the latest size, 422). Partners and admins may call them; officers and
analysts read the status and bundles.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from smartcustoms.access import Principal, Role
from smartcustoms.api.security import PlatformDep, require
from smartcustoms.errors import LedgerRangeError, TooLargeError
from smartcustoms.ledger.checkpoint import parse_signed_checkpoint
from smartcustoms.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, parse_tile_path

__all__ = ["router"]

router = APIRouter(prefix="/ledger", tags=["ledger"])

Partner = Annotated[Principal, Depends(require(Role.PARTNER, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Reader = Annotated[
    Principal, Depends(require(Role.PARTNER, Role.OFFICER, Role.ANALYST, Role.ADMIN))
]
MAX_WITNESS_REQUEST: Final = 64 * 1024
"""Largest add-checkpoint body accepted (a proof of 64 hashes and a cosigned note fit)."""
_MAX: Final = 2**63 - 1
_INDEX = Query(ge=0, le=_MAX)
IndexPath = Annotated[int, Path(ge=0, le=_MAX)]


@router.get("/checkpoint", response_class=PlainTextResponse, summary="Latest checkpoint")
def checkpoint(_principal: Partner, platform: PlatformDep) -> PlainTextResponse:
    """Our signed checkpoint (C2SP signed note) with the witnesses' cosignatures so far."""
    return PlainTextResponse(platform.ledger.checkpoint())


@router.get("/keys", summary="Our public verifier keys")
def keys(_principal: Reader, platform: PlatformDep) -> dict[str, str]:
    """The log, statement and witness verifier keys a partner puts in its trust policy."""
    return platform.ledger_keys.verifier_keys() | {
        "origin": platform.settings.ledger_origin,
        "administration": platform.settings.home_country,
    }


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    summary="A hash tile or an entry bundle (C2SP tlog-tiles)",
)
def tile(path: str, _principal: Partner, platform: PlatformDep) -> Response:
    """Raw tile bytes; only tiles of the current tree exist (404 ``ledger.out_of_range``)."""
    coord = parse_tile_path(f"tile/{path}")
    log = platform.ledger.log
    level = 0 if coord.is_entries else coord.level
    available = (log.size >> (TILE_HEIGHT * level)) - coord.index * TILE_WIDTH
    if (
        available <= 0
        or (coord.is_partial and coord.width != available)
        or (not coord.is_partial and available < TILE_WIDTH)
    ):
        raise LedgerRangeError(f"{coord.path} is not a tile of the tree of size {log.size}")
    if coord.is_entries:
        data = log.tiles.read(coord)
    else:
        data = log.read_tile(coord.level, coord.index, coord.width)
    return Response(data, media_type="application/octet-stream")


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hashes]


@router.get("/proof/inclusion", summary="Inclusion proof of an entry")
def inclusion(
    _principal: Partner,
    platform: PlatformDep,
    index: Annotated[int, _INDEX],
    size: Annotated[int | None, Query(ge=1, le=_MAX)] = None,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` (default: now)."""
    log = platform.ledger.log
    n = log.size if size is None else size
    return {"index": index, "size": n, "proof": _b64(log.inclusion_proof(index, n))}


@router.get("/proof/consistency", summary="Consistency proof between two tree sizes")
def consistency(
    _principal: Partner,
    platform: PlatformDep,
    old: Annotated[int, Query(ge=1, le=_MAX)],
    new: Annotated[int | None, Query(ge=1, le=_MAX)] = None,
) -> dict[str, Any]:
    """RFC 9162 consistency proof from ``old`` to ``new`` (default: now)."""
    log = platform.ledger.log
    n = log.size if new is None else new
    return {"old": old, "new": n, "proof": _b64(log.consistency_proof(old, n))}


@router.get("/documents/{index}", response_class=Response, summary="A statement's document")
def document(index: IndexPath, _principal: Partner, platform: PlatformDep) -> Response:
    """The business document our statement at ``index`` commits to (its SHA-256 is logged)."""
    return Response(platform.statements.document(index), media_type="application/json")


@router.get("/bundle/{index}", response_class=PlainTextResponse, summary="Offline proof bundle")
def bundle(index: IndexPath, _principal: Reader, platform: PlatformDep) -> PlainTextResponse:
    """C2SP tlog-proof for entry ``index``: verifiable with nothing but the trust policy."""
    return PlainTextResponse(platform.ledger.bundle(index))


@router.get("/status", summary="Ledger status")
def status(_principal: Reader, platform: PlatformDep) -> dict[str, Any]:
    """Size, root, statements waiting, cosignatures, and each partner log's last sync."""
    node = platform.ledger
    cosigned = node.cosigned_checkpoint()
    cosigned_size = None if cosigned is None else parse_signed_checkpoint(cosigned).checkpoint.size
    return {
        "origin": node.origin,
        "size": node.log.size,
        "root_hash": base64.b64encode(node.log.root()).decode("ascii"),
        "cosigned_size": cosigned_size,
        "statements": platform.statements.counts(),
        "partners": platform.mra.status(),
    }


@router.post(
    "/witness/add-checkpoint",
    response_class=PlainTextResponse,
    summary="Witness a partner's checkpoint (C2SP tlog-witness add-checkpoint)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string", "maxLength": 65536}}},
        }
    },
)
async def add_checkpoint(
    request: Request, _principal: Partner, platform: PlatformDep
) -> PlainTextResponse:
    """Our cosignature lines, or the witness's refusal."""
    body = await request.body()
    if len(body) > MAX_WITNESS_REQUEST:
        raise TooLargeError(f"add-checkpoint bodies are at most {MAX_WITNESS_REQUEST} bytes")
    return PlainTextResponse(platform.ledger.witness().add_checkpoint(body))


@router.post("/cosign", summary="Ask every partner's witness to cosign our checkpoint")
def cosign(principal: Admin, platform: PlatformDep) -> list[dict[str, Any]]:
    """Publish pending statements, then collect cosignatures; one report per partner."""
    reports = [r.as_dict() for r in platform.mra.cosign()]
    platform.store.record_audit(
        actor=principal.user_id,
        action="ledger.cosign",
        subject_type="ledger",
        subject_id=None,
        details={"reports": reports},
    )
    return reports
