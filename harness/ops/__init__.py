"""Runs in their own process and on a schedule: the runner, watchdog, alerts, metrics, scheduler status."""
