"""What the customer received: the inbox audit held against the map's per-stage limits.

Every message a synthetic customer got during a run is in the store with the stage they were in
when it arrived. Per stage and segment this gives the messages (grouped by sender and subject),
the distinct sending systems (sender domains), and a finding when one customer got more messages,
or mail from more systems, in one stage than the map's `max_messages` / `max_senders` allow:
"we are sending out messages from 4 different systems" made visible.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from harness.analysis.actions import Action
from harness.map.journey_map import JourneyMap, Stage
from harness.observation import MessageReceived

INBOX_RULE = (
    "per stage, the most messages one synthetic customer received, and from how many sending systems"
    " (sender domains), against the map's max_messages and max_senders"
)


@dataclass
class MessageKind:
    """Messages of one sender and subject in a stage: what several customers all got."""

    sender: str
    sender_domain: str
    subject: str
    touchpoint: str | None  # the map touchpoint a step matched it to; None: no step expected it
    received: int  # messages
    customers: int
    # The sender's Date header to the mailbox's delivery: a cross-check of the harness's own clock.
    date_to_delivery_ms: float | None = None
    problems: str = ""


@dataclass
class StageInbox:
    stage_id: str
    name: str
    segment: str
    customers: int  # synthetic customers that got mail in this stage
    messages: int
    most_messages: int  # the most one customer got
    senders: list[str]  # every sending system seen in this stage
    most_senders: int  # the most systems one customer heard from
    max_messages: int | None
    max_senders: int | None
    kinds: list[MessageKind] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    owner: str = ""  # who answers for the stage's email: the owner of most of its email touchpoints

    @property
    def overshoot(self) -> float:
        """How far past the map's limits, relatively (2 messages where 1 is allowed: 1.0); 0 within."""
        over = [
            most / max(limit, 1) - 1.0
            for most, limit in (
                (self.most_messages, self.max_messages),
                (self.most_senders, self.max_senders),
            )
            if limit is not None and most > limit
        ]
        return max(over, default=0.0)


def _owner(stage: Stage | None) -> str:
    if stage is None:
        return "Unassigned"
    owners = Counter(tp.owner for tp in stage.touchpoints if tp.channel == "email")
    owners = owners or Counter(tp.owner for tp in stage.touchpoints)
    return owners.most_common(1)[0][0] if owners else "Unassigned"


def _date_to_delivery(messages: list[MessageReceived]) -> float | None:
    gaps = [
        (m.received_at - m.date_header).total_seconds() * 1000.0
        for m in messages
        if m.received_at is not None and m.date_header is not None
    ]
    return statistics.median(gaps) if gaps else None


def inbox_audit(journey_map: JourneyMap, messages: list[MessageReceived]) -> list[StageInbox]:
    """One entry per stage and segment that received mail, in journey order; unknown stages last."""
    by_cell: dict[tuple[str, str], list[MessageReceived]] = defaultdict(list)
    for message in messages:
        by_cell[(message.stage, message.segment)].append(message)
    order = [stage.id for stage in journey_map.stages]
    cells = sorted(
        by_cell,
        key=lambda cell: (order.index(cell[0]) if cell[0] in order else len(order), cell[0], cell[1]),
    )
    audit = []
    for stage_id, segment in cells:
        got = by_cell[(stage_id, segment)]
        stage = journey_map.stage(stage_id)
        per_customer: dict[tuple[str, str], list[MessageReceived]] = defaultdict(list)
        for message in got:
            per_customer[(message.run_id, message.address)].append(message)
        most_messages = max(len(items) for items in per_customer.values())
        most_senders = max(len({m.sender_domain for m in items}) for items in per_customer.values())
        kinds: dict[tuple[str, str], list[MessageReceived]] = defaultdict(list)
        for message in got:
            kinds[(message.sender, message.subject)].append(message)
        entry = StageInbox(
            stage_id=stage_id,
            name=stage.name if stage else stage_id or "(no stage)",
            segment=segment,
            customers=len(per_customer),
            messages=len(got),
            most_messages=most_messages,
            senders=sorted({m.sender_domain or "(no sender)" for m in got}),
            most_senders=most_senders,
            max_messages=stage.max_messages if stage else None,
            max_senders=stage.max_senders if stage else None,
            kinds=[
                MessageKind(
                    sender=sender,
                    sender_domain=items[0].sender_domain,
                    subject=subject,
                    touchpoint=next((m.touchpoint for m in items if m.touchpoint), None),
                    received=len(items),
                    customers=len({(m.run_id, m.address) for m in items}),
                    date_to_delivery_ms=_date_to_delivery(items),
                    problems=next((m.problems for m in items if m.problems), ""),
                )
                for (sender, subject), items in sorted(kinds.items(), key=lambda kv: -len(kv[1]))
            ],
            owner=_owner(stage),
        )
        if entry.max_messages is not None and most_messages > entry.max_messages:
            entry.findings.append(
                f"{entry.name}: one customer got {most_messages} messages;"
                f" the map allows {entry.max_messages}"
            )
        if entry.max_senders is not None and most_senders > entry.max_senders:
            entry.findings.append(
                f"{entry.name}: one customer heard from {most_senders} sending systems"
                f" ({', '.join(entry.senders)}); the map allows {entry.max_senders}"
            )
        audit.append(entry)
    return audit


def inbox_actions(audit: list[StageInbox]) -> list[tuple[float, Action]]:
    """An action per finding, scored like a slow touchpoint (1) × (1 + overshoot) × customers affected."""
    scored = []
    for entry in audit:
        if not entry.findings:
            continue
        score = (1.0 + min(entry.overshoot, 10.0)) * entry.customers
        scored.append(
            (
                score,
                Action(
                    priority=0,
                    score=round(score, 2),
                    owner=entry.owner,
                    touchpoint_id=f"inbox:{entry.stage_id}",
                    touchpoint_name=f"{entry.name} inbox",
                    stage_id=entry.stage_id,
                    segment=entry.segment,
                    status="too much mail",
                    moment_of_truth=False,
                    what_to_fix="Send less, from fewer systems: " + "; ".join(entry.findings),
                ),
            )
        )
    return scored
