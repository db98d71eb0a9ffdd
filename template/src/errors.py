"""One JSON shape for every error response, documented in docs/errors.md:

    {"detail": "<what went wrong>", "errors": [{"loc": [...], "msg": "...", "type": "..."}],
     "error_count": 1}

`detail` is always a string; `errors` lists the offending fields of a 422 (the first
MAX_REPORTED_ERRORS of them) and is empty otherwise; `error_count` says how many there were.
A domain's own errors subclass `DomainError` with their status (404, 409, ...): raised anywhere
in a request, they are answered in this shape, so routers need no try/except. Other exceptions
are answered in the same shape by src/edge.py: 503 when the database is unavailable, 500 for
a bug.
"""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from itertools import islice
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

DATABASE_UNAVAILABLE = "Service unavailable: the database is not answering"
# Enough for every field of a request to be wrong in a few ways; a body of 9,000 unknown
# fields gets a 422 of 2 KB, not of 800 KB.
MAX_REPORTED_ERRORS = 20


class DomainError(Exception):
    """An error of the service's domain that the client caused: answered with `status_code`
    and the exception's message as `detail`. Subclass it once per kind of error."""

    status_code: ClassVar[int] = HTTPStatus.BAD_REQUEST


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    # Every field is always present in a response: the schema says so (required), as clients
    # generated from it expect.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    detail: str
    errors: list[FieldError] = Field(
        default=[],
        max_length=MAX_REPORTED_ERRORS,
        description=f"What was wrong with the request (422), at most {MAX_REPORTED_ERRORS} "
        "items; empty for every other status.",
    )
    error_count: int = Field(
        default=0, ge=0, description="How many problems were found, listed in `errors` or not."
    )


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error shape for the given status codes."""
    return {
        code: {"model": ErrorResponse, "description": HTTPStatus(code).phrase}
        for code in status_codes
    }


def error_response(
    status_code: int,
    detail: str,
    errors: Sequence[FieldError] = (),
    *,
    error_count: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        detail=detail,
        errors=list(errors),
        error_count=len(errors) if error_count is None else error_count,
    )
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc.status_code, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only location, message and type: echoing the rejected input could leak it or be huge.
        problems = exc.errors()
        errors = [
            FieldError(loc=list(error["loc"]), msg=error["msg"], type=error["type"])
            for error in islice(problems, MAX_REPORTED_ERRORS)
        ]
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "Invalid request",
            errors,
            error_count=len(problems),
        )
