"""System settings (sections smtp, network, numbering); the SMTP password is masked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from centralino.admin.audit import MASK
from centralino.api.dependencies import CurrentActor, Services, json_object
from centralino.api.schemas import request_body
from centralino.domain.settings import SystemSettings

__all__ = ["masked", "router"]

router = APIRouter(prefix="/settings", tags=["settings"])

JsonObject = Annotated[dict[str, Any], Depends(json_object)]


def masked(settings: SystemSettings) -> SystemSettings:
    """The settings with the SMTP password replaced by a mask."""
    if settings.smtp.password is None:
        return settings
    smtp = settings.smtp.model_copy(update={"password": MASK})
    return settings.model_copy(update={"smtp": smtp})


def _without_mask(patch: dict[str, Any]) -> dict[str, Any]:
    """Drop a masked password sent back unchanged, so the stored one stays."""
    smtp = patch.get("smtp")
    if isinstance(smtp, dict) and smtp.get("password") == MASK:
        smtp = {key: value for key, value in smtp.items() if key != "password"}
        return patch | {"smtp": smtp}
    return patch


@router.get("", response_model=SystemSettings)
async def get_settings(services: Services) -> SystemSettings:
    """Return the system settings (the SMTP password masked)."""
    return masked(await services.settings.get())


@router.patch(
    "",
    response_model=SystemSettings,
    openapi_extra=request_body("SystemSettingsPatch", patch=True),
)
async def patch_settings(
    body: JsonObject, actor: CurrentActor, services: Services
) -> SystemSettings:
    """Merge-patch the settings; a masked password sent back keeps the stored one."""
    return masked(await services.settings.patch(actor, _without_mask(body)))
