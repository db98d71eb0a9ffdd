from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from src.database import Base, utc_now

EMAIL_MAX_LENGTH = 320
NAME_MAX_LENGTH = 100


class User(Base):
    __tablename__ = "users"
    # Emails are unique regardless of letter case: stored in lower case (enforced here, not only
    # by the API schema), so the plain unique constraint on `email` covers every spelling.
    # SQLite would hand a deleted user's id (the highest one) to the next user without
    # AUTOINCREMENT; ids are never reused, as on PostgreSQL.
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        {"sqlite_autoincrement": True},
    )

    # 64-bit ids, as the API promises (INTEGER is 32-bit on PostgreSQL). SQLite keeps INTEGER:
    # only an INTEGER PRIMARY KEY is its auto-incrementing 64-bit rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, server_default=func.current_timestamp()
    )
