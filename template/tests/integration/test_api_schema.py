"""Property-based API test: schemathesis generates requests from the app's own OpenAPI schema.

Each operation gets valid requests (positive) and invalid ones (negative: wrong types, missing
or unknown fields, out-of-range values). They are sent in-process through the harness's
`async_client`, so they hit the test database inside the test's rolled-back transaction. Every
response must conform to the schema: no 5xx, documented status codes and bodies, invalid input
rejected, valid input accepted.
"""

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckFunction, GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from src.main import app


def examples_per_case() -> int:
    """SCHEMA_EXAMPLES, or 25: requests per operation and mode. Fewer make a quicker edit-test
    loop (`SCHEMA_EXAMPLES=5 uv run pytest`); CI keeps the default, or asks for more."""
    value = os.environ.get("SCHEMA_EXAMPLES", "25")
    if not value.isdecimal() or int(value) < 1:
        raise ValueError(f"SCHEMA_EXAMPLES must be a whole number from 1 up, not {value!r}")
    return int(value)


OPENAPI = app.openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)
OPERATIONS = [operation for methods in schema.values() for operation in methods.values()]
CASES = [
    pytest.param(operation.label, mode, id=f"{operation.label}-{mode.value}")
    for operation in OPERATIONS
    for mode in GenerationMode
    # An operation without inputs has no invalid requests to make.
    if mode is GenerationMode.POSITIVE or operation.body or any(operation.iter_parameters())
]


@pytest.fixture
def statuses(request: pytest.FixtureRequest) -> Iterator[Counter[int]]:
    """Status codes of the requests a test sent, reported as test properties (`--junitxml`)."""
    counts: Counter[int] = Counter()
    yield counts
    server_errors = sum(n for code, n in counts.items() if code >= 500)
    request.node.user_properties += [("requests", counts.total()), ("server_errors", server_errors)]


@pytest.mark.parametrize(("label", "mode"), CASES)
@settings(
    max_examples=examples_per_case(),
    derandomize=True,  # the same requests on every run: a red CI build can be reproduced
    database=None,
    deadline=None,
    # One client and one transaction serve all the examples of a test, on purpose: requests
    # meet the rows earlier ones created (duplicates, updates, deletes).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_api_conforms_to_its_schema(
    data: st.DataObject,
    label: str,
    mode: GenerationMode,
    async_client: AsyncClient,
    statuses: Counter[int],
) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    case = data.draw(operation.as_strategy(generation_mode=mode))
    request = case.as_transport_kwargs(base_url=str(async_client.base_url))
    assert not request.pop("cookies", None), "the API takes no cookies"
    if "data" in request:  # a raw (non-JSON) body: httpx calls it `content`
        request["content"] = request.pop("data")

    try:
        response = await async_client.request(**request)
    except Exception:
        statuses[500] += 1  # the app raised: a 500 in production
        raise
    statuses[response.status_code] += 1
    excluded: list[CheckFunction] = (
        [] if _really_violates_its_schema(case) else [negative_data_rejection]
    )
    case.validate_response(response, excluded_checks=excluded)


def _really_violates_its_schema(case: Case[Any]) -> bool:
    """Whether an invalid case's JSON body is invalid indeed.

    To break a `pattern`, schemathesis appends "*" to a valid string, which breaks patterns
    such as `^[a-z]+$` but not one that allows "*" (as the name's does). Then the body is
    valid, and the API is right to accept it. Checked with the validator schemathesis uses.
    """
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if not negative or case.media_type != "application/json" or isinstance(case.body, bytes):
        return True  # nothing to double-check (raw bytes are not JSON, so invalid anyway)
    body = OPENAPI["paths"][case.operation.path][case.method.lower()]["requestBody"]
    body_schema = body["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for(body_schema | {"components": OPENAPI["components"]})
    return not validator.is_valid(case.body)
