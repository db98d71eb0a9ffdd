"""Property-based API test: schemathesis generates requests from the app's own OpenAPI schema.

Each operation gets valid requests (positive) and invalid ones (negative: wrong types, missing
or unknown fields, out-of-range values). They are sent in-process through the harness's
`async_client`, so they hit the test database inside the test's rolled-back transaction. Every
response must conform to the schema: no 5xx, documented status codes and bodies, invalid input
rejected, valid input accepted.
"""

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from schemathesis import GenerationMode

from src.main import app
from src.users.schemas import Email

schema = schemathesis.openapi.from_dict(app.openapi())
OPERATIONS = [operation for methods in schema.values() for operation in methods.values()]
CASES = [
    pytest.param(operation.label, mode, id=f"{operation.label}-{mode.value}")
    for operation in OPERATIONS
    for mode in GenerationMode
    # An operation without inputs has no invalid requests to make.
    if mode is GenerationMode.POSITIVE or operation.body or any(operation.iter_parameters())
]


def _is_accepted_email(value: str) -> bool:
    try:
        TypeAdapter(Email).validate_python(value)
    except ValidationError:
        return False
    return True


# The OpenAPI `email` format is looser than the validator, which refuses reserved domains
# such as `.test`: schema-valid addresses are drawn from those the API accepts.
schemathesis.openapi.format("email", st.emails().filter(_is_accepted_email))


@pytest.fixture
def statuses(request: pytest.FixtureRequest) -> Iterator[Counter[int]]:
    """Status codes of the requests a test sent, reported as test properties (`--junitxml`)."""
    counts: Counter[int] = Counter()
    yield counts
    server_errors = sum(n for code, n in counts.items() if code >= 500)
    request.node.user_properties += [("requests", counts.total()), ("server_errors", server_errors)]


@pytest.mark.parametrize(("label", "mode"), CASES)
@settings(
    max_examples=25,
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

    response = await async_client.request(**request)

    statuses[response.status_code] += 1
    case.validate_response(response)
