"""In CI every real peer must be there: a skipped interop test proves nothing."""

from __future__ import annotations

import os
import shutil

import pytest

PEERS = ("sipp", "baresip")


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only enforced in CI")
@pytest.mark.parametrize("program", PEERS)
def test_peer_is_installed(program: str) -> None:
    assert shutil.which(program) is not None, (
        f"{program} missing: scripts/bootstrap test installs it"
    )
