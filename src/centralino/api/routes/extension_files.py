"""CSV import and export of extensions (columns: SPEC section 5 names)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.datastructures import UploadFile

from centralino.api.dependencies import (
    CurrentActor,
    Services,
    media_type,
    read_body,
    storable_text_problem,
)
from centralino.api.schemas import ImportResult, csv_body
from centralino.domain.errors import InvalidInput

__all__ = ["MAX_CSV_BYTES", "router"]

router = APIRouter(prefix="/extensions", tags=["extensions"])

MAX_CSV_BYTES = 20_000_000
_TEXT_MEDIA = frozenset({"text/csv", "text/plain", "application/csv", "application/octet-stream"})


async def _uploaded(request: Request) -> bytes:
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            return await upload.read(MAX_CSV_BYTES + 1)
        if isinstance(upload, str):
            return upload.encode("utf-8", "surrogatepass")
    raise InvalidInput.single("file", "a CSV file is required in the field 'file'")


async def csv_text(request: Request) -> str:
    """The CSV text of an import: a ``text/csv`` body or a multipart ``file`` field.

    Raises:
        HTTPException: 415 for another media type, 413 when too large.
        InvalidInput: the file is not UTF-8 text or holds NUL characters.
    """
    media = media_type(request)
    if media == "multipart/form-data":
        raw = await _uploaded(request)
    elif media in _TEXT_MEDIA or not media:
        raw = await read_body(request, MAX_CSV_BYTES)
    else:
        raise HTTPException(415, "send the file as text/csv or multipart/form-data")
    if len(raw) > MAX_CSV_BYTES:
        raise HTTPException(413, f"the file is larger than {MAX_CSV_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput.single("(file)", "must be UTF-8 text") from exc
    if problem := storable_text_problem(text):
        raise InvalidInput.single("(file)", problem)
    return text


@router.post("/import", status_code=201, response_model=ImportResult, openapi_extra=csv_body())
async def import_extensions(
    request: Request, actor: CurrentActor, services: Services
) -> ImportResult:
    """Create the extensions of a CSV file: all of them, or none."""
    created = await services.csv.import_csv(actor, await csv_text(request))
    return ImportResult(created=len(created), numbers=created.numbers)


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_extensions(services: Services) -> Response:
    """Every extension as a CSV attachment (secrets included: keep it safe)."""
    text = await services.csv.export()
    headers = {"Content-Disposition": 'attachment; filename="extensions.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
