"""One JSON shape for every error response, documented in docs/errors.md:

    {"detail": "<what went wrong>", "errors": [{"loc": [...], "msg": "...", "type": "..."}]}

`detail` is always a string; `errors` lists the offending fields of a 422 and is empty otherwise.
Requests that raise are answered in the same shape by src/request_context.py: 503 when the
database is unavailable, 500 for a bug.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

DATABASE_UNAVAILABLE = "Service unavailable: the database is not answering"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldError] = []


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error shape for the given status codes."""
    return {
        code: {"model": ErrorResponse, "description": HTTPStatus(code).phrase}
        for code in status_codes
    }


def error_response(
    status_code: int,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(detail=detail, errors=errors or [])
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only location, message and type: echoing the rejected input could leak it or be huge.
        errors = [
            FieldError(loc=list(error["loc"]), msg=error["msg"], type=error["type"])
            for error in exc.errors()
        ]
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "Invalid request", errors)
