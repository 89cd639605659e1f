"""Status display names: configured ones win, the rest keep their defaults."""

from __future__ import annotations

from centralino.domain.forwarding import DEFAULT_STATUS_NAMES, Status
from centralino.domain.settings import PresenceSettings


def test_configured_name_wins_and_others_keep_defaults() -> None:
    presence = PresenceSettings(display_names={Status.LUNCH: "Pausa pranzo"})
    assert presence.name_of(Status.LUNCH) == "Pausa pranzo"
    assert presence.name_of(Status.AWAY) == DEFAULT_STATUS_NAMES[Status.AWAY]
    assert presence.names()[Status.LUNCH] == "Pausa pranzo"
    assert set(presence.names()) == set(Status)
