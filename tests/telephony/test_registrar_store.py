"""SqlLocationStore on SQLite and PostgreSQL, and bindings across a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.storage import Database, SqlLocationStore, SqlUnitOfWorkFactory
from tests.fakes import EPOCH, FakeClock
from tests.telephony.registrar_support import Phone, start_telephony

PASSWORD = "Secret-password-101"


def _binding(number: str, contact: str, **changes: object) -> Binding:
    fields: dict[str, object] = {
        "number": number,
        "contact": contact,
        "transport": "udp",
        "host": "192.0.2.1",
        "port": 5060,
        "expires_at": EPOCH + dt.timedelta(hours=1),
        "registered_at": EPOCH,
        "call_id": "c1@phone",
        "cseq": 7,
        "user_agent": "Phone/1.0",
        "auth_user": "user101",
    }
    return Binding(**(fields | changes))  # type: ignore[arg-type]


async def test_replace_and_read_back(database: Database) -> None:
    store = SqlLocationStore(database)
    first = [_binding("101", "sip:101@10.0.0.1"), _binding("101", "sip:101@10.0.0.2")]
    await store.replace_many({"101": first, "102": [_binding("102", "sip:102@10.0.0.3")]})
    assert sorted(b.contact for b in await store.all()) == [
        "sip:101@10.0.0.1",
        "sip:101@10.0.0.2",
        "sip:102@10.0.0.3",
    ]
    await store.replace_for("101", [_binding("101", "sip:101@10.0.0.9", cseq=8)])
    stored = {b.contact: b for b in await store.all()}
    assert set(stored) == {"sip:101@10.0.0.9", "sip:102@10.0.0.3"}
    assert stored["sip:101@10.0.0.9"] == _binding("101", "sip:101@10.0.0.9", cseq=8)
    await store.remove_all("102")
    assert [b.number for b in await store.all()] == ["101"]


async def test_timestamps_come_back_aware_utc(database: Database) -> None:
    store = SqlLocationStore(database)
    await store.replace_for("101", [_binding("101", "sip:101@10.0.0.1")])
    [binding] = await store.all()
    assert binding.expires_at == EPOCH + dt.timedelta(hours=1)
    assert binding.expires_at.tzinfo is not None


async def test_bindings_survive_a_restart_on_the_same_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'centralino.db'}"
    clock = FakeClock(dt.datetime.now(dt.UTC))
    extension = Extension.model_validate(
        {
            "number": "101",
            "auth_id": "user101",
            "auth_password": PASSWORD,
            "voicemail": {"pin": "135790"},
        }
    )
    for attempt in range(2):
        database = Database(url)
        await database.migrate()
        units = SqlUnitOfWorkFactory(database)
        if attempt == 0:
            async with units() as uow:
                await uow.extensions.add(extension)
                await uow.commit()
        engine = await start_telephony(units, clock, location=SqlLocationStore(database))
        try:
            if attempt == 0:
                phone = Phone(server_port=engine.port())
                assert (await phone.register("user101", PASSWORD)).final.status == 200
                phone.close()
            else:
                [binding] = engine.registrar.contacts("101")
                assert binding.auth_user == "user101"
        finally:
            await engine.stop()
            await database.dispose()
