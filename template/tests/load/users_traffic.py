"""Mixed /api/v1/users/ traffic and the ledger that checks what it acknowledged.

Each round of a client creates a user, reads it, renames it, changes its email, lists a page,
joins two races on an email that every client wants (a create and an email change), and
deletes every other user it made. The ledger remembers every write the server acknowledged;
`verify` then reads everything back and lists each acknowledged write that is not there.
"""

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

import httpx

from tests.harness.traffic import TrafficClient

USERS = "/api/v1/users/"
PAGE_SIZE = 100


def _unique_email(client: int, round_index: int, version: str) -> str:
    return f"user-{client}-{round_index}-{version}@example.com"


def _contested_email(kind: str, round_index: int) -> str:
    # Every client wants this address in this round; exactly one may get it. Clients spell it
    # in their own letter case, which must not help: emails are unique whatever the case.
    return f"{kind}-{round_index}@example.com"


@dataclass
class UserRecord:
    email: str
    name: str


@dataclass
class UsersLedger:
    """Acknowledged writes: what the database must hold once the traffic is over."""

    alive: dict[int, UserRecord] = field(default_factory=dict)
    deleted: dict[int, UserRecord] = field(default_factory=dict)
    contested_attempts: Counter[str] = field(default_factory=Counter)
    contested_winners: defaultdict[str, list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )

    async def round(self, client: TrafficClient, index: int, round_index: int) -> None:
        user_id = await self._create(client, _unique_email(index, round_index, "a"), f"c{index}")
        if user_id is None:
            return
        path = f"{USERS}{user_id}"
        await client.request("GET", path, "get", {200})
        await self._patch(client, user_id, {"name": f"c{index} r{round_index}"})
        await self._patch(client, user_id, {"email": _unique_email(index, round_index, "b")})
        await client.request("GET", USERS, "list", {200}, params={"limit": 20})

        contested = _contested_email("created", round_index)
        self.contested_attempts[contested] += 1
        spelling = contested.upper() if index % 2 else contested
        winner = await self._create(client, spelling, f"c{index}", expected=(201, 409))
        if winner is not None:
            self.contested_winners[contested].append(winner)

        contested = _contested_email("changed", round_index)
        spelling = contested.upper() if index % 2 else contested
        won = await self._patch(client, user_id, {"email": spelling}, (200, 409))
        if won:
            self.contested_winners[contested].append(user_id)

        # Winners keep the contested address; deleting them would free it for the next client.
        if round_index % 2 == 0 and not won:
            response = await client.request("DELETE", path, "delete", {204})
            if response is not None and response.status_code == 204:
                self.deleted[user_id] = self.alive.pop(user_id)

    async def _create(
        self, client: TrafficClient, email: str, name: str, expected: Collection[int] = (201,)
    ) -> int | None:
        """The new user's id, or None when the server did not create it."""
        response = await client.request(
            "POST", USERS, "create", expected, json={"email": email, "name": name}
        )
        if response is None or response.status_code != 201:
            return None
        body = response.json()
        user_id: int = body["id"]
        self.alive[user_id] = UserRecord(body["email"], body["name"])
        return user_id

    async def _patch(
        self,
        client: TrafficClient,
        user_id: int,
        changes: dict[str, str],
        expected: Collection[int] = (200,),
    ) -> bool:
        response = await client.request(
            "PATCH", f"{USERS}{user_id}", "update", expected, json=changes
        )
        if response is None or response.status_code != 200:
            return False
        body = response.json()
        self.alive[user_id] = UserRecord(body["email"], body["name"])
        return True

    async def verify(self, http: httpx.AsyncClient) -> list[str]:
        """Every acknowledged write that the database does not reflect, one line each."""
        stored: dict[int, UserRecord] = {}
        offset = 0
        while True:
            page = await http.get(USERS, params={"limit": PAGE_SIZE, "offset": offset})
            page.raise_for_status()
            rows = page.json()
            stored.update({row["id"]: UserRecord(row["email"], row["name"]) for row in rows})
            if len(rows) < PAGE_SIZE:
                break
            offset += PAGE_SIZE

        problems = [
            f"user {user_id}: acknowledged as {record}, stored as {stored.get(user_id)}"
            for user_id, record in self.alive.items()
            if stored.get(user_id) != record
        ]
        problems += [
            f"user {user_id} ({record.email}): deleted with 204, still stored"
            for user_id, record in self.deleted.items()
            if stored.get(user_id, UserRecord("", "")).email == record.email
        ]
        emails = Counter(record.email for record in stored.values())
        problems += [
            f"{email} is stored {count} times" for email, count in emails.items() if count > 1
        ]
        for email, winners in self.contested_winners.items():
            if len(winners) > 1:
                problems.append(f"{email}: {len(winners)} clients were told they got it")
        problems += [
            f"{email}: {attempts} clients tried to create it, none got a 201"
            for email, attempts in self.contested_attempts.items()
            if email not in self.contested_winners
        ]
        return problems
