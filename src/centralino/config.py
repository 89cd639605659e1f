"""Settings of one Centralino process: typed, built once, passed down.

Sources, strongest first: constructor arguments (the CLI's flags), environment
variables ``CENTRALINO_*``, the TOML file named by ``CENTRALINO_CONFIG`` (or
``DATA_DIR/centralino.toml``), then the defaults below.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Config"]


def _toml_file() -> Path:
    explicit = os.environ.get("CENTRALINO_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("CENTRALINO_DATA_DIR", "data")) / "centralino.toml"


def _default_node_name() -> str:
    """The host name, reduced to the characters a node name may hold."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64]
    return name or "node"


class Config(BaseSettings):
    """Process configuration."""

    model_config = SettingsConfigDict(env_prefix="CENTRALINO_", extra="ignore", frozen=True)

    data_dir: Path = Path("data")
    database_url: str | None = None
    """SQLAlchemy URL; default: SQLite in the data directory."""
    bind: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=1, le=65535)
    sip_port: int = Field(default=5060, ge=1, le=65535)
    sip_host: str | None = None
    """The host the PBX puts in its SIP Via and Contact headers (what phones
    send requests to). Default: the bind address, or 127.0.0.1 when bound to
    every interface (set it to the LAN address or name in production)."""
    sip_realm: str = "centralino"
    """The digest authentication realm of SIP challenges."""
    media_anchoring: bool = True
    """Relay every call's RTP through the PBX (needed to record, play prompts
    and detect DTMF); off, the phones send media to each other."""
    rtp_port_min: int = Field(default=10000, ge=1024, le=65535)
    rtp_port_max: int = Field(default=20000, ge=1024, le=65535)
    """The UDP port range of anchored media: per call leg, an even RTP port
    and the odd RTCP port above it (two pairs per call)."""
    sip_tcp_max_connections: int = Field(default=4096, ge=1)
    """SIP over TCP: connections open at once, in all; one more is closed at
    once (keep it below the process's open-files limit, ``ulimit -n``)."""
    sip_tcp_max_per_address: int = Field(default=256, ge=1)
    """SIP over TCP: connections open at once from one address (raise it when
    more phones than that use TCP behind one NAT)."""
    sip_tcp_idle_timeout: float = Field(default=3900.0, gt=0)
    """SIP over TCP: seconds without a byte (keep-alives count) before a
    connection that carried messages is closed; keep it above the longest
    registration interval (3600 s) for phones that send no keep-alives."""
    admin_password: SecretStr | None = None
    """The owner's password on first start; generated and printed when unset."""
    log_level: str = "info"
    node_name: str = Field(
        default_factory=lambda: _default_node_name(),
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
    )
    """This process's name among the nodes sharing one database (registrations,
    calls in progress and the change feed's cursor are kept per node)."""
    feed_retention_days: float = Field(default=7.0, gt=0)
    """How long the change feed keeps a committed change (a node down longer
    than this reloads its caches whole when it comes back)."""
    feed_poll_interval: float = Field(default=0.25, gt=0, le=10)
    """How often the change feed is polled on SQLite (PostgreSQL is woken by
    LISTEN/NOTIFY and polls only as a safety net, ten times less often)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_file())
        return (init_settings, env_settings, toml)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'centralino.db'}"

    @property
    def advertised_sip_host(self) -> str:
        """``sip_host``, else the bind address, else 127.0.0.1 (bound to all)."""
        if self.sip_host:
            return self.sip_host
        return "127.0.0.1" if self.bind in ("0.0.0.0", "::", "") else self.bind

    @property
    def secret_file(self) -> Path:
        """Where the token-signing secret is kept."""
        return self.data_dir / "secret.key"

    @property
    def secrets_key_file(self) -> Path:
        """Where the keys that encrypt stored secrets (SMTP, integrations) are kept."""
        return self.data_dir / "secrets.key"
