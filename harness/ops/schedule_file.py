"""The schedule file of `shopper schedule`, and the instants it names.

A schedule file (YAML) names the target, the map, the features and when to run: `every: 5m`,
`hourly_at: ":15"` or `daily_at: "09:00"` in a `timezone` (an IANA name). Relative paths are
relative to the file's folder, so a schedule and its journey can move together. Every mistake is
a ScheduleError with the file, the line and one sentence.

Due instants are computed here with zoneinfo rather than by the `schedule` library, whose
`.at(time, tz)` wants pytz zones and keeps its next run as a naive local time: ambiguous in the
hour a daylight-saving change repeats.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import HarnessError, MapError, did_you_mean, read_user_file
from harness.map.journey_map import format_duration, parse_duration
from harness.map.user_yaml import compose
from harness.ops.alert_config import AlertConfig, alert_config
from harness.record.context import customer_address
from harness.store.sqlite import DEFAULT_STORE

KEYS = (
    "target",
    "map",
    "features",
    "store",
    "segments",
    "every",
    "hourly_at",
    "daily_at",
    "timezone",
    "timeout",
    "retries",
    "retry_backoff",
    "report",
    "last",
    "retention",
    "mailbox",
    "max_wait",
    "customer_address",
    "alerts",
    "metrics_port",
    "metrics_addr",
    "broker",
    "locations",
    "location",
)
_WHEN = ("every", "hourly_at", "daily_at")
_REQUIRED = ("target", "map", "features")
_NULL = "tag:yaml.org,2002:null"


class ScheduleError(HarnessError):
    """The schedule file is malformed, or names what cannot be scheduled."""


@dataclass(frozen=True)
class Every:
    seconds: float

    def __str__(self) -> str:
        return f"every {format_duration(self.seconds * 1000)}"


@dataclass(frozen=True)
class HourlyAt:
    minute: int
    zone: str

    def __str__(self) -> str:
        return f"hourly at :{self.minute:02d} ({self.zone})"


@dataclass(frozen=True)
class DailyAt:
    hour: int
    minute: int
    zone: str

    def __str__(self) -> str:
        return f"daily at {self.hour:02d}:{self.minute:02d} ({self.zone})"


Rule = Every | HourlyAt | DailyAt


def next_due(rule: Rule, after: dt.datetime, anchor: dt.datetime) -> dt.datetime:
    """The first instant (UTC) strictly after `after` that the rule names; `every` counts from `anchor`.

    Wall-clock times follow the zone through daylight-saving changes. A daily time the spring
    change skips runs once, as long after the change as it was meant to be after the hour before
    (02:30 becomes 03:30 summer time); one the autumn change repeats runs once, the first time.
    An hourly minute runs every real hour: twice in the repeated hour, once in the skipped one.
    """
    if isinstance(rule, Every):
        elapsed = (after - anchor).total_seconds()
        return anchor + dt.timedelta(seconds=(math.floor(elapsed / rule.seconds) + 1) * rule.seconds)
    zone = ZoneInfo(rule.zone)
    if isinstance(rule, HourlyAt):
        moment = after.astimezone(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        while moment.astimezone(zone).minute != rule.minute:
            moment += dt.timedelta(minutes=1)
        return moment
    day = after.astimezone(zone).date() - dt.timedelta(days=1)
    while True:
        # fold=0: the first of a repeated time; for a skipped one, the offset before the change.
        due = dt.datetime.combine(day, dt.time(rule.hour, rule.minute), tzinfo=zone).astimezone(dt.UTC)
        if due > after:
            return due
        day += dt.timedelta(days=1)


@dataclass
class ScheduleConfig:
    path: Path
    target: str
    map: Path
    features: Path
    store: str
    rule: Rule
    timezone: str = "UTC"
    segments: list[str] = field(default_factory=list)  # empty: every segment of the map
    segment_lines: dict[str, int] = field(default_factory=dict)
    timeout_s: float = 600.0
    retries: int = 1
    retry_backoff_s: float = 0.0
    report: Path | None = None
    last: int = 20
    retention_s: float | None = None
    mailbox: str | None = None
    max_wait: str | None = None  # e.g. 2m: email promises beyond it are left to the after-run poll
    customer_address: str | None = None
    alerts: AlertConfig | None = None
    alerts_block: tuple[Any, int] | None = None  # as written, and its line: checked again against the map
    metrics_port: int | None = None
    metrics_addr: str = "127.0.0.1"
    broker: str | None = None  # a fleet's: due runs are enqueued for workers (harness.ops.fleet_broker)
    locations: list[str] = field(default_factory=list)  # each due run is walked once from each
    location: str = ""  # where the runs walk from, recorded with each ("": the host name)


def load_schedule(path: str | Path) -> ScheduleConfig:
    path = Path(path)
    text = read_user_file(path, "schedule file", ScheduleError)
    root = compose(text, path, "schedule file", ScheduleError)
    return _Reader(path).config(root)


class _Reader:
    """Walks the composed node tree, so every complaint can point at the line that caused it.

    Scalars are read as written (`node.value`), not as YAML 1.1 resolves them: unquoted, 09:00
    would otherwise be the number 540.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, node: Node | None, message: str) -> ScheduleError:
        return ScheduleError(message, file=self.path, line=node.start_mark.line + 1 if node else 1)

    def text(self, node: Node, key: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag == _NULL or not str(node.value).strip():
            raise self.fail(node, f'"{key}" needs a value written as one line of text.')
        return str(node.value).strip()

    def duration_s(self, node: Node, key: str) -> float:
        value = self.text(node, key)
        try:
            return parse_duration(value) / 1000.0
        except MapError:
            raise self.fail(
                node, f'"{key}: {value}" is not a duration; write it like 30s, 5m, 1h or 30d.'
            ) from None

    def whole(self, node: Node, key: str, low: int, high: int | None = None) -> int:
        value = self.text(node, key)
        if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
            bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise self.fail(node, f'"{key}" must be a whole number {bounds}, not "{value}".')
        return int(value)

    def path_of(self, node: Node, key: str) -> Path:
        return self.base / Path(self.text(node, key)).expanduser()  # relative to the schedule file

    def config(self, root: Node | None) -> ScheduleConfig:
        nodes = self.nodes(root)
        when = self.when(root, nodes)
        zone = self.zone(nodes["timezone"]) if "timezone" in nodes else "UTC"
        config = ScheduleConfig(
            path=self.path,
            target=self.target(nodes["target"]),
            map=self.path_of(nodes["map"], "map"),
            features=self.path_of(nodes["features"], "features"),
            store=self.store(nodes.get("store")),
            rule=self.rule(when, nodes[when], zone),
            timezone=zone,
        )
        self.run_options(config, nodes)
        self.watch_options(config, nodes)
        self.fleet_options(config, nodes)
        return config

    def fleet_options(self, config: ScheduleConfig, nodes: dict[str, Node]) -> None:
        """A broker and the locations whose workers walk each due run: both, or neither."""
        from harness.ops.fleet_job import check_broker_url, check_location

        if ("broker" in nodes) != ("locations" in nodes):
            given, missing = ("broker", "locations") if "broker" in nodes else ("locations", "broker")
            raise self.fail(
                nodes[given], f'"{given}" needs "{missing}" too: a fleet enqueues each run for its locations.'
            )
        if "broker" not in nodes:
            return
        node = nodes["broker"]
        config.broker = check_broker_url(self.text(node, "broker"), file=str(self.path), line=self.line(node))
        items = nodes["locations"].value if isinstance(nodes["locations"], SequenceNode) else None
        if not items:
            raise self.fail(nodes["locations"], "locations must be a list of names, like [eu-west, us-east].")
        for item in items:
            name = check_location(self.text(item, "locations"), file=str(self.path), line=self.line(item))
            if name not in config.locations:
                config.locations.append(name)

    @staticmethod
    def line(node: Node) -> int:
        return int(node.start_mark.line) + 1

    def nodes(self, root: Node | None) -> dict[str, Node]:
        """The file's keys and their value nodes, each key known, given once, the required ones there."""
        if not isinstance(root, MappingNode):
            raise self.fail(root, "a schedule file is a mapping of keys, starting with `target: URL`.")
        nodes: dict[str, Node] = {}
        for key_node, value_node in root.value:
            key = str(key_node.value)
            if key not in KEYS:
                raise self.fail(
                    key_node,
                    f'unknown key "{key}"{did_you_mean(key, list(KEYS))}; a schedule file may have '
                    f"{', '.join(KEYS)}.",
                )
            if key in nodes:
                raise self.fail(key_node, f'"{key}" is given twice.')
            nodes[key] = value_node
        for key in _REQUIRED:
            if key not in nodes:
                raise self.fail(root, f'"{key}" is missing: a schedule needs target, map and features.')
        return nodes

    def when(self, root: Node | None, nodes: dict[str, Node]) -> str:
        """The one key of every, hourly_at and daily_at that the file gives."""
        when = [key for key in _WHEN if key in nodes]
        if len(when) != 1:
            raise self.fail(
                nodes[when[1]] if when else root,
                'say when to run with one of every: 5m, hourly_at: ":15" or daily_at: "09:00".',
            )
        return when[0]

    def run_options(self, config: ScheduleConfig, nodes: dict[str, Node]) -> None:
        """How each run goes: its segments, timeout and retries, and the report and store kept after."""
        if "segments" in nodes:
            config.segment_lines = self.segments(nodes["segments"])
            config.segments = list(config.segment_lines)
        if "timeout" in nodes:
            config.timeout_s = self.positive(nodes["timeout"], "timeout")
        if "retries" in nodes:
            config.retries = self.whole(nodes["retries"], "retries", 0)
        if "retry_backoff" in nodes:
            config.retry_backoff_s = self.duration_s(nodes["retry_backoff"], "retry_backoff")
        if "report" in nodes:
            config.report = self.path_of(nodes["report"], "report")
        if "last" in nodes:
            config.last = self.whole(nodes["last"], "last", 1)
        if "retention" in nodes:
            config.retention_s = self.positive(nodes["retention"], "retention")
        if "location" in nodes:
            config.location = self.text(nodes["location"], "location")

    def watch_options(self, config: ScheduleConfig, nodes: dict[str, Node]) -> None:
        """The customer's mailbox and address, the metrics endpoint and the alerts."""
        if "mailbox" in nodes:
            config.mailbox = self.text(nodes["mailbox"], "mailbox")
        if "max_wait" in nodes:
            self.duration_s(nodes["max_wait"], "max_wait")
            config.max_wait = self.text(nodes["max_wait"], "max_wait")
        if "customer_address" in nodes:
            config.customer_address = self.address_template(nodes["customer_address"])
        if "metrics_port" in nodes:
            config.metrics_port = self.whole(nodes["metrics_port"], "metrics_port", 1, 65535)
        if "metrics_addr" in nodes:
            config.metrics_addr = self.text(nodes["metrics_addr"], "metrics_addr")
        if "alerts" in nodes:
            config.alerts, config.alerts_block = self.alerts(nodes["alerts"])

    def address_template(self, node: Node) -> str:
        template = self.text(node, "customer_address")
        try:
            customer_address(template, "run", 1)
        except HarnessError as exc:
            raise self.fail(node, str(exc)) from None
        return template

    def target(self, node: Node) -> str:
        url = self.text(node, "target")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.fail(node, "target must be the site's address, starting with http:// or https://.")
        return url

    def store(self, node: Node | None) -> str:
        if node is None:
            return str(self.base / DEFAULT_STORE)
        text = self.text(node, "store")
        return text if "://" in text else str(self.base / Path(text).expanduser())

    def zone(self, node: Node) -> str:
        name = self.text(node, "timezone")
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            hint = did_you_mean(name, available_timezones())
            raise self.fail(
                node, f'"{name}" is not an IANA time zone{hint}; write it like Europe/Amsterdam.'
            ) from None
        return name

    def positive(self, node: Node, key: str) -> float:
        seconds = self.duration_s(node, key)
        if seconds <= 0:
            raise self.fail(node, f'"{key}" must be longer than 0s.')
        return seconds

    def rule(self, key: str, node: Node, zone: str) -> Rule:
        value = self.text(node, key)
        if key == "every":
            seconds = self.duration_s(node, key)
            if seconds < 1:
                raise self.fail(node, f'"every: {value}" is too often; the shortest interval is 1s.')
            return Every(seconds)
        if key == "hourly_at":
            match = re.fullmatch(r":([0-5]\d)", value)
            if match is None:
                raise self.fail(
                    node, f'"hourly_at: {value}" is not a minute past the hour; write it like ":15".'
                )
            return HourlyAt(int(match.group(1)), zone)
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
        if match is None:
            raise self.fail(node, f'"daily_at: {value}" is not a time of day; write it like "09:00".')
        return DailyAt(int(match.group(1)), int(match.group(2)), zone)

    def segments(self, node: Node) -> dict[str, int]:
        items = node.value if isinstance(node, SequenceNode) else None
        if not items:
            raise self.fail(node, "segments must be a list of the map's segments, like [self-serve].")
        found: dict[str, int] = {}
        for item in items:
            found.setdefault(self.text(item, "segments"), item.start_mark.line + 1)
        return found

    def alerts(self, node: Node) -> tuple[AlertConfig, tuple[Any, int]]:
        data = SafeConstructor().construct_object(node, deep=True)
        line = node.start_mark.line + 1
        return alert_config(data, self.path, line), (data, line)
