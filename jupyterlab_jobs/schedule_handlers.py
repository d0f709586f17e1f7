"""Thin REST handlers for schedules: parse, call the ScheduleService in a thread, write JSON."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .handlers import JobsHandler
from .scheduling.service import ScheduleService


class SchedulesHandlerBase(JobsHandler):
    @property
    def schedules(self) -> ScheduleService:
        return self.app.schedules


class SchedulesListHandler(SchedulesHandlerBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        page = await self.call(self.schedules.list_schedules, self.user, **self.list_filters())
        self.finish(page)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        schedule = await self.call(self.schedules.create, self.user, self.body())
        self.set_status(201)
        self.finish(await self.call(self.schedules.render, schedule))


class ScheduleHandler(SchedulesHandlerBase):
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        schedule = await self.call(self.schedules.get, self.user, schedule_id)
        self.finish(await self.call(self.schedules.render, schedule))

    @web.authenticated
    @authorized
    async def patch(self, schedule_id: str) -> None:
        schedule = await self.call(self.schedules.update, self.user, schedule_id, self.body())
        self.finish(await self.call(self.schedules.render, schedule))

    @web.authenticated
    @authorized
    async def delete(self, schedule_id: str) -> None:
        await self.call(self.schedules.delete, self.user, schedule_id)
        self.set_status(204)
        self.finish()


class PauseHandler(SchedulesHandlerBase):
    @web.authenticated
    @authorized
    async def post(self, schedule_id: str) -> None:
        schedule = await self.call(self.schedules.set_enabled, self.user, schedule_id, False)
        self.finish(await self.call(self.schedules.render, schedule))


class ResumeHandler(SchedulesHandlerBase):
    @web.authenticated
    @authorized
    async def post(self, schedule_id: str) -> None:
        schedule = await self.call(self.schedules.set_enabled, self.user, schedule_id, True)
        self.finish(await self.call(self.schedules.render, schedule))


class RunNowHandler(SchedulesHandlerBase):
    @web.authenticated
    @authorized
    async def post(self, schedule_id: str) -> None:
        job = await self.call(self.schedules.run_now, self.user, schedule_id)
        self.set_status(201)
        self.finish(job.to_json())


class RunsHandler(SchedulesHandlerBase):
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        limit = self.query_int("limit", 50, minimum=1) or 50
        self.finish(await self.call(self.schedules.runs, self.user, schedule_id, limit))


class PreviewHandler(SchedulesHandlerBase):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        self.finish(await self.call(self.schedules.preview, self.body()))


SCHEDULE_ID = r"(?P<schedule_id>[^/]+)"

SCHEDULE_ROUTES: list[tuple[str, type[JobsHandler]]] = [
    ("/schedules", SchedulesListHandler),
    ("/schedules/preview", PreviewHandler),
    (f"/schedules/{SCHEDULE_ID}", ScheduleHandler),
    (f"/schedules/{SCHEDULE_ID}/pause", PauseHandler),
    (f"/schedules/{SCHEDULE_ID}/resume", ResumeHandler),
    (f"/schedules/{SCHEDULE_ID}/run", RunNowHandler),
    (f"/schedules/{SCHEDULE_ID}/runs", RunsHandler),
]
