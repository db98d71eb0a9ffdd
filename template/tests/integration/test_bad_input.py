"""Malformed requests get a 4xx in the shared error shape (src/errors.py), never a 500."""

from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from src.config import Settings
from src.errors import ErrorResponse
from src.main import create_app
from src.users.models import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, User
from tests.integration.users_api import USERS, create_user

MAX_BIGINT = 2**63 - 1


def error_of(response: Response, status_code: int) -> ErrorResponse:
    """The response's error body, after checking its status and its shape."""
    assert response.status_code == status_code, response.text
    return ErrorResponse.model_validate_json(response.content, strict=True)


class TestMalformedBodies:
    async def test_malformed_json(self, async_client: AsyncClient) -> None:
        response = await async_client.post(
            USERS,
            content=b'{"email": "a@example.com",',
            headers={"content-type": "application/json"},
        )

        error = error_of(response, 422)
        assert [item.type for item in error.errors] == ["json_invalid"]

    async def test_body_that_is_not_utf8(self, async_client: AsyncClient) -> None:
        response = await async_client.post(
            USERS, content=b"\xff\xfe\x00", headers={"content-type": "application/json"}
        )

        assert error_of(response, 400).detail

    async def test_json_without_json_content_type(self, async_client: AsyncClient) -> None:
        response = await async_client.post(
            USERS,
            content=b'{"email": "a@example.com", "name": "A"}',
            headers={"content-type": "text/plain"},
        )

        error_of(response, 422)

    @pytest.mark.parametrize("body", [[], "text", 42, None], ids=["list", "string", "int", "null"])
    async def test_body_that_is_not_an_object(self, async_client: AsyncClient, body: Any) -> None:
        response = await async_client.post(USERS, json=body)

        error_of(response, 422)

    async def test_unknown_field(self, async_client: AsyncClient) -> None:
        payload = {"email": "a@example.com", "name": "A", "is_admin": True}
        response = await async_client.post(USERS, json=payload)

        error = error_of(response, 422)
        assert [(item.loc, item.type) for item in error.errors] == [
            (["body", "is_admin"], "extra_forbidden")
        ]

    @pytest.mark.parametrize(
        "payload",
        [
            {"email": 42, "name": "A"},
            {"email": "a@example.com", "name": ["A"]},
            {"email": "a@example.com", "name": 7},
            {"email": None, "name": "A"},
        ],
        ids=["email-int", "name-list", "name-int", "email-null"],
    )
    async def test_wrong_types(self, async_client: AsyncClient, payload: dict[str, Any]) -> None:
        error = error_of(await async_client.post(USERS, json=payload), 422)
        assert error.errors


class TestStringLimits:
    @pytest.mark.parametrize(
        "name",
        [
            "",
            "   ",
            " padded",
            "padded ",
            "x" * (NAME_MAX_LENGTH + 1),
            "nul\x00byte",
            "line\nbreak",
            "escape\x1b[31m",
            "c1\x85control",
            "lone\ud800surrogate",
            "\u200b",
            "right-to-left\u202eoverride",
        ],
        ids=[
            "empty",
            "blank",
            "leading-space",
            "trailing-space",
            "too-long",
            "nul",
            "newline",
            "ansi-escape",
            "c1-control",
            "lone-surrogate",
            "only-zero-width-space",
            "format-character",
        ],
    )
    async def test_invalid_names_are_rejected(self, async_client: AsyncClient, name: str) -> None:
        # Serialised by hand: a lone surrogate is valid JSON (\ud800) but not valid UTF-8.
        body = '{"email": "a@example.com", "name": %s}' % _json_string(name)  # noqa: UP031
        response = await async_client.post(
            USERS, content=body.encode(), headers={"content-type": "application/json"}
        )

        error = error_of(response, 422)
        assert error.errors[0].loc == ["body", "name"]

    async def test_name_at_the_limit_and_unicode_are_accepted(
        self, async_client: AsyncClient
    ) -> None:
        for name in ["x" * NAME_MAX_LENGTH, "Zoë Łukasiewicz-Ñúñez", "名前 🙂"]:
            response = await async_client.post(
                USERS, json={"email": f"{len(name)}@example.com", "name": name}
            )
            assert response.status_code == 201, response.text
            assert response.json()["name"] == name

    async def test_names_are_stored_in_nfc(self, async_client: AsyncClient) -> None:
        response = await async_client.post(
            USERS, json={"email": "z@example.com", "name": "Zoe\u0308"}
        )

        assert response.status_code == 201, response.text
        assert response.json()["name"] == "Zo\u00eb"

    @pytest.mark.parametrize("domain_labels", [4, 6], ids=["over-smtp-limit", "over-column"])
    async def test_over_long_email_is_rejected(
        self, async_client: AsyncClient, domain_labels: int
    ) -> None:
        # Each part within its own limit; the whole beyond 254 (SMTP), or beyond the column.
        email = "a" * 64 + "@" + ".".join(["b" * 60] * domain_labels) + ".com"
        assert len(email) > (254 if domain_labels == 4 else EMAIL_MAX_LENGTH)

        error = error_of(await async_client.post(USERS, json={"email": email, "name": "A"}), 422)
        assert error.errors[0].loc == ["body", "email"]


class TestNumbersOutOfRange:
    @pytest.mark.parametrize(
        "user_id",
        ["0", "-1", str(MAX_BIGINT + 1), str(10**30), "1.5", "abc", "1e3", "+1", "1_0", "\u0661"],
    )
    @pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
    async def test_invalid_user_ids(
        self, async_client: AsyncClient, method: str, user_id: str
    ) -> None:
        response = await async_client.request(method, f"{USERS}{user_id}", json={"name": "N"})

        error_of(response, 422)

    async def test_largest_id_is_merely_not_found(self, async_client: AsyncClient) -> None:
        error_of(await async_client.get(f"{USERS}{MAX_BIGINT}"), 404)

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": -1},
            {"limit": 10**30},
            {"offset": -5},
            {"offset": MAX_BIGINT + 1},
            {"offset": "NaN"},
            {"limit": "\u00a06"},
            {"limit": " 6"},
        ],
        ids=[
            "negative-limit",
            "huge-limit",
            "negative-offset",
            "offset-past-64-bit",
            "nan",
            "no-break-space",
            "space",
        ],
    )
    async def test_invalid_pagination(
        self, async_client: AsyncClient, params: dict[str, Any]
    ) -> None:
        error_of(await async_client.get(USERS, params=params), 422)

    async def test_largest_offset_is_an_empty_page(self, async_client: AsyncClient) -> None:
        response = await async_client.get(USERS, params={"offset": MAX_BIGINT})

        assert response.status_code == 200
        assert response.json() == []


class TestPatch:
    async def test_empty_body_is_rejected(self, async_client: AsyncClient) -> None:
        user_id = await create_user(async_client, "patch@example.com")

        error = error_of(await async_client.patch(f"{USERS}{user_id}", json={}), 422)
        assert "at least one field" in error.errors[0].msg

    @pytest.mark.parametrize("field", ["name", "email"])
    async def test_null_is_rejected(self, async_client: AsyncClient, field: str) -> None:
        user_id = await create_user(async_client, "patch@example.com")

        response = await async_client.patch(f"{USERS}{user_id}", json={field: None})

        error = error_of(response, 422)
        assert error.errors[0].loc == ["body", field]
        unchanged = await async_client.get(f"{USERS}{user_id}")
        assert unchanged.json()["name"] == "Test User"


class TestEmailLetterCase:
    """Rule: an address is one account whatever its letter case; it is stored in lower case."""

    async def test_email_is_stored_in_lower_case(self, async_client: AsyncClient) -> None:
        response = await async_client.post(USERS, json={"email": "Ada@Example.COM", "name": "Ada"})

        assert response.status_code == 201
        assert response.json()["email"] == "ada@example.com"

    async def test_duplicate_differing_only_in_case_conflicts(
        self, async_client: AsyncClient, async_session: AsyncSession
    ) -> None:
        await create_user(async_client, "ada@example.com")

        response = await async_client.post(USERS, json={"email": "ADA@example.com", "name": "B"})

        error_of(response, 409)
        assert await async_session.scalar(select(func.count()).select_from(User)) == 1

    async def test_update_to_an_email_differing_only_in_case_conflicts(
        self, async_client: AsyncClient
    ) -> None:
        await create_user(async_client, "ada@example.com")
        other = await create_user(async_client, "bob@example.com")

        response = await async_client.patch(f"{USERS}{other}", json={"email": "Ada@Example.com"})

        error_of(response, 409)

    async def test_internationalised_domain_is_stored_in_ascii(
        self, async_client: AsyncClient
    ) -> None:
        unicode_form = await async_client.post(USERS, json={"email": "Ana@Bücher.de", "name": "A"})
        ascii_form = await async_client.post(
            USERS, json={"email": "ana@xn--bcher-kva.de", "name": "B"}
        )

        assert unicode_form.status_code == 201
        assert unicode_form.json()["email"] == "ana@xn--bcher-kva.de"
        error_of(ascii_form, 409)

    async def test_non_ascii_local_part_is_rejected(self, async_client: AsyncClient) -> None:
        response = await async_client.post(USERS, json={"email": "zoë@example.com", "name": "Z"})

        assert "ASCII" in error_of(response, 422).errors[0].msg

    async def test_database_refuses_an_upper_case_email(self, async_session: AsyncSession) -> None:
        # The rule holds for writes that bypass the API too (scripts, migrations, other services).
        with pytest.raises(IntegrityError):
            async with async_session.begin_nested():
                async_session.add(User(email="Ada@example.com", name="Ada"))


class TestEmailFormat:
    """Rule: what the schema's `format: email` allows is accepted, so that clients generating
    addresses from it are not refused."""

    @pytest.mark.parametrize(
        "email",
        ["ann@shop.test", "ann@intranet", '"ann smith"@example.com', "ann@[192.0.2.1]"],
        ids=["test-domain", "single-label", "quoted", "address-literal"],
    )
    async def test_what_the_email_format_allows_is_accepted(
        self, async_client: AsyncClient, email: str
    ) -> None:
        response = await async_client.post(USERS, json={"email": email, "name": "Ann"})

        assert response.status_code == 201, response.text

    async def test_domains_that_never_receive_mail_are_rejected(
        self, async_client: AsyncClient
    ) -> None:
        response = await async_client.post(USERS, json={"email": "a@b.invalid", "name": "A"})

        assert "special-use" in error_of(response, 422).errors[0].msg


class TestErrorShape:
    async def test_unknown_path(self, async_client: AsyncClient) -> None:
        assert error_of(await async_client.get("/no/such/path"), 404).detail == "Not Found"

    async def test_method_not_allowed_keeps_its_allow_header(
        self, async_client: AsyncClient
    ) -> None:
        response = await async_client.put(USERS, json={})

        assert error_of(response, 405).errors == []
        assert response.headers["allow"]

    async def test_unexpected_error_is_a_bare_500(self) -> None:
        app = create_app(Settings())

        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret detail that must not reach the client")

        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom")

        error = error_of(response, 500)
        assert error.detail == "Internal server error"
        assert "secret" not in response.text


def _json_string(value: str) -> str:
    """A JSON string literal with every non-ASCII character escaped (surrogates included)."""
    return '"' + "".join(_json_char(char) for char in value) + '"'


def _json_char(char: str) -> str:
    if char in {'"', "\\"}:
        return "\\" + char
    if " " <= char <= "~":
        return char
    return f"\\u{ord(char):04x}"
