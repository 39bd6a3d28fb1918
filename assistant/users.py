"""Assistant stage: users, their profiles and what their feedback says, behind their tokens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from assistant.errors import InvalidInput
from assistant.profiles import NewUser, Profile
from assistant.storage import Storage
from ingest.catalog import Catalog


@dataclass(frozen=True)
class Learner:
    """Whom a ranking is for: their profile and what their feedback says."""

    profile: Profile
    ratings: Mapping[str, int] = field(default_factory=dict)


def first_error(error: ValidationError) -> str:
    """The first validation problem as "field: message" (what a person needs to fix)."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "profile"
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


class Users:
    """Profiles checked against the catalog and kept in storage; every read needs the token.

    Needs no model or index, so the `mlsd user` commands stay fast.
    """

    def __init__(self, catalog: Catalog, storage: Storage) -> None:
        self.catalog = catalog
        self.storage = storage

    def check_profile(self, profile: Profile | Mapping[str, Any] | None) -> Profile:
        """A valid profile from a model or plain data; `InvalidInput` says what is wrong."""
        if profile is None:
            return Profile()
        if not isinstance(profile, Profile):
            try:
                profile = Profile.model_validate(dict(profile))
            except ValidationError as error:
                raise InvalidInput(f"invalid profile: {first_error(error)}") from None
        unknown = sorted(set(profile.already_read) - set(self.catalog.resources))
        if unknown:
            raise InvalidInput(
                f"already_read names unknown resource id(s) {unknown}; see GET /api/resources"
            )
        return profile

    def create(self, profile: Profile | Mapping[str, Any] | None = None) -> NewUser:
        """A new user (with an optional profile); keep the token, it is shown only once."""
        return self.storage.create_user(self.check_profile(profile))

    def profile(self, user_id: str, token: str | None) -> Profile:
        """A user's profile; needs that user's token."""
        self.storage.authorize(user_id, token)
        return self.storage.load_profile(user_id)

    def set_profile(
        self, user_id: str, token: str | None, profile: Profile | Mapping[str, Any]
    ) -> Profile:
        """Replace a user's profile; needs that user's token. Nothing is saved if it is invalid."""
        self.storage.authorize(user_id, token)
        checked = self.check_profile(profile)
        self.storage.save_profile(user_id, checked)
        return checked

    def learner(self, user_id: str, token: str | None) -> Learner:
        """A user's profile and feedback, for ranking; needs that user's token."""
        self.storage.authorize(user_id, token)
        return Learner(self.storage.load_profile(user_id), self.storage.resource_ratings(user_id))
