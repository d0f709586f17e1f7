"""Recurring jobs: cron in a time zone (``cron``), the schedule record (``model``), what
to do with due ticks (``policies``), who may do what (``service``) and the engine that
fires ticks through JobService (``engine``). No web framework here."""
