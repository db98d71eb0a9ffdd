from http import HTTPStatus

from src.errors import DomainError


class UserNotFoundError(DomainError):
    status_code = HTTPStatus.NOT_FOUND

    def __init__(self, user_id: int) -> None:
        super().__init__(f"User {user_id} not found")
        self.user_id = user_id


class EmailAlreadyRegisteredError(DomainError):
    status_code = HTTPStatus.CONFLICT

    def __init__(self, email: str) -> None:
        super().__init__(f"A user with email {email!r} already exists")
        self.email = email
