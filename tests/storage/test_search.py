"""Searching, sorting and paging extensions, and bulk insertion."""

from __future__ import annotations

import pytest

from centralino.domain.extension import Extension, UniqueKind
from centralino.domain.ports import ExtensionQuery, ExtensionSort
from centralino.storage import SqlUnitOfWorkFactory
from tests.storage.builders import make_extension

PEOPLE = [
    ("201", "Mario", "Rossi", "mario.rossi@example.com", "+393331110001"),
    ("202", "anna", "Bianchi", "anna.b@example.org", None),
    ("203", "Luca", "Rossini", None, "+393331110003"),
    ("204", "Giulia", "Verdi", "giulia@rossi-srl.it", None),
    ("205", "Marco", "Ferrari", "100%marco@example.com", "+393339999999"),
    ("206", "", "", None, None),
]


@pytest.fixture
async def people(unit_of_work: SqlUnitOfWorkFactory) -> list[Extension]:
    extensions = [
        make_extension(number, first_name=first, last_name=last, email=email, mobile=mobile)
        for number, first, last, email, mobile in PEOPLE
    ]
    async with unit_of_work() as uow:
        await uow.extensions.add_many(extensions)
        await uow.commit()
    return extensions


async def _numbers(unit_of_work: SqlUnitOfWorkFactory, **query: object) -> tuple[list[str], int]:
    async with unit_of_work() as uow:
        page = await uow.extensions.search(ExtensionQuery(**query))  # type: ignore[arg-type]
    return [extension.number for extension in page.items], page.total


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (None, ["201", "202", "203", "204", "205", "206"]),
        ("   ", ["201", "202", "203", "204", "205", "206"]),
        ("ROSS", ["201", "203", "204"]),  # last names and an email domain
        ("mario rossi", ["201"]),  # "first last"
        ("ANNA", ["202"]),
        ("20", ["201", "202", "203", "204", "205", "206"]),  # numbers
        ("3331110003", ["203"]),  # mobile
        (".org", ["202"]),
        ("100%", ["205"]),  # LIKE wildcards are literal
        ("_", []),
        ("nobody", []),
    ],
)
async def test_search_matches_substrings_case_insensitively(
    unit_of_work: SqlUnitOfWorkFactory, search: str | None, expected: list[str]
) -> None:
    assert await _numbers(unit_of_work, search=search) == (expected, len(expected))


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        (ExtensionSort.NUMBER, True, ["206", "205", "204", "203", "202", "201"]),
        (ExtensionSort.FIRST_NAME, False, ["206", "202", "204", "203", "205", "201"]),
        (ExtensionSort.LAST_NAME, False, ["206", "202", "205", "201", "203", "204"]),
        (ExtensionSort.LAST_NAME, True, ["204", "203", "201", "205", "202", "206"]),
        (ExtensionSort.EMAIL, False, ["203", "206", "205", "202", "204", "201"]),
    ],
)
async def test_search_sorts_case_insensitively(
    unit_of_work: SqlUnitOfWorkFactory,
    sort: ExtensionSort,
    descending: bool,
    expected: list[str],
) -> None:
    numbers, _ = await _numbers(unit_of_work, sort=sort, descending=descending)
    assert numbers == expected


@pytest.mark.usefixtures("people")
async def test_search_pages(unit_of_work: SqlUnitOfWorkFactory) -> None:
    assert await _numbers(unit_of_work, offset=2, limit=3) == (["203", "204", "205"], 6)
    assert await _numbers(unit_of_work, search="ross", offset=2, limit=3) == (["204"], 3)
    assert await _numbers(unit_of_work, offset=10) == ([], 6)


async def test_search_returns_whole_extensions(
    unit_of_work: SqlUnitOfWorkFactory, people: list[Extension]
) -> None:
    async with unit_of_work() as uow:
        page = await uow.extensions.search(ExtensionQuery(search="bianchi"))
    assert list(page.items) == [people[1]]


@pytest.fixture(scope="module")
def two_thousand() -> list[Extension]:
    """Built once: completing 2,000 specs costs most of a second."""
    return [
        make_extension(
            str(10000 + index),
            first_name=f"Name{index:04d}",
            last_name="Bulk" if index % 2 else "Import",
            dids=[f"+3902{index:06d}"],
        )
        for index in range(2000)
    ]


async def test_add_many_then_search(
    unit_of_work: SqlUnitOfWorkFactory, two_thousand: list[Extension]
) -> None:
    async with unit_of_work() as uow:
        await uow.extensions.add_many(two_thousand)
        await uow.commit()
    async with unit_of_work() as uow:
        everything = await uow.extensions.search(ExtensionQuery(limit=10))
        bulk = await uow.extensions.search(
            ExtensionQuery(search="bulk", sort=ExtensionSort.FIRST_NAME, offset=990, limit=50)
        )
        owners = await uow.extensions.owners(UniqueKind.DID, ["+3902001999"])
        found = await uow.extensions.find_by_sip_user(two_thousand[1234].auth_id)
        assert len(await uow.extensions.all()) == 2000
    assert everything.total == 2000
    assert [extension.number for extension in everything.items] == [
        str(10000 + index) for index in range(10)
    ]
    assert bulk.total == 1000
    assert [extension.first_name for extension in bulk.items] == ["Name1981", "Name1983"] + [
        f"Name{index:04d}" for index in range(1985, 2000, 2)
    ]
    assert owners == {"+3902001999": "11999"}
    assert found == two_thousand[1234]
