"""Answers in the shared error shape (src/errors.py) for what a request can raise: a
`DomainError`, an HTTPException, invalid input (422)."""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from itertools import islice

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from src.errors import MAX_REPORTED_ERRORS, DomainError, ErrorResponse, FieldError

DATABASE_UNAVAILABLE = "Service unavailable: the database is not answering"


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


def install(app: FastAPI) -> None:
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
