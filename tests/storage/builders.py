"""Test extensions built the way the admin layer builds them."""

from __future__ import annotations

import random
from typing import Any

from centralino.domain.credentials import CredentialGenerator
from centralino.domain.devices import BusyLampKey, Device, Vendor
from centralino.domain.extension import Extension, ExtensionSpec
from centralino.domain.options import Options

__all__ = ["make_extension", "rich_extension"]


def make_extension(number: str, seed: int | None = None, **fields: Any) -> Extension:
    """A complete extension with generated credentials (repeatable per seed)."""
    generate = CredentialGenerator(random.Random(number if seed is None else seed))
    return ExtensionSpec(number=number, **fields).complete(generate)


def rich_extension(number: str = "101") -> Extension:
    """An extension with something in every unique field and a few tabs."""
    return make_extension(
        number,
        first_name="Mario",
        last_name="Rossi",
        email="mario.rossi@example.com",
        mobile="+393331234567",
        dids=["+390212345601", "+390212345602"],
        meeting_room="mario-rossi",
        devices=[Device(vendor=Vendor.YEALINK, model="T54W", mac="80:5E:C0:12:34:56")],
        blf_keys=[BusyLampKey(position=1, number="102", label="Anna")],
        options=Options(sip_id="Mario.Rossi", record_all_calls=True),
    )
