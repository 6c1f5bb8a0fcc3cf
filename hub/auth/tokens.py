"""Bearer tokens for non-browser clients (kiosks, hall displays, integrations, benchmarks).

A token is signed (itsdangerous) and carries the staff id and the staff member's
``session_epoch``; bumping the epoch (deactivation, password reset, "sign out everywhere")
invalidates every token and socket at once without a token table.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.errors import NotAuthenticated

_SALT = "ptsa.api-token.v1"


@dataclass(frozen=True)
class TokenClaims:
    staff_id: int
    epoch: int
    expires_at: float = 0.0  # Unix time


class TokenSigner:
    def __init__(self, secret_key: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
        self.max_age = max_age_seconds

    def issue(self, staff_id: int, epoch: int) -> str:
        return self._serializer.dumps([staff_id, epoch])

    def verify(self, token: str) -> TokenClaims:
        try:
            (staff_id, epoch), issued = self._serializer.loads(token, max_age=self.max_age,
                                                               return_timestamp=True)
        except SignatureExpired:
            raise NotAuthenticated("the token has expired; request a new one from "
                                   "POST /api/v1/auth/token", code="token_expired") from None
        except (BadSignature, ValueError, TypeError):
            raise NotAuthenticated("the token is not valid", code="bad_token") from None
        return TokenClaims(int(staff_id), int(epoch), issued.timestamp() + self.max_age)
