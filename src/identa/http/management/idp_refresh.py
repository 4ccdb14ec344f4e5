"""Before a Management API caller holding `read:user_idp_tokens` reads a user: expired upstream
access tokens are refreshed (identa.flows.social_tokens), outside any open transaction."""

from __future__ import annotations

from identa.container import Container


async def refresh_expired_idp_tokens(c: Container, user_id: str) -> None:
    refresher = c.social.idp_tokens
    async with c.unit_of_work() as uow:
        user = await c.users.find(uow.session, user_id)
        due = await refresher.due(uow.session, user) if user is not None else []
    if not due:
        return
    refreshed = await refresher.fetch(due)
    if not refreshed:
        return
    async with c.unit_of_work() as uow:
        await refresher.store(uow.session, refreshed)
        await uow.commit()
