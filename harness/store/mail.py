"""The store's mail tables: the inbox audit (every message a synthetic customer got) and pending expectations.

Plain functions over the store's SQLite connection, kept apart so store.py stays about runs and
observations. A pending expectation's observation is completed in place when it resolves: the
report then sees one visit with its real response time, not a pending row and a second one.
"""

from __future__ import annotations

import datetime as dt
import json

from harness.observation import (
    ExpectationResolved,
    MessageReceived,
    PendingExpectation,
    from_iso,
    to_iso,
)
from harness.store.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    run_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    segment TEXT NOT NULL,
    stage TEXT NOT NULL,
    address TEXT NOT NULL,
    key TEXT NOT NULL,
    received_at TEXT,
    sender TEXT NOT NULL,
    sender_domain TEXT NOT NULL,
    subject TEXT NOT NULL,
    touchpoint TEXT,
    message_id TEXT NOT NULL DEFAULT '',
    date_header TEXT,
    relay_received TEXT,
    problems TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, address, key)
);
CREATE TABLE IF NOT EXISTS pending (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    node_id TEXT NOT NULL,
    segment TEXT NOT NULL,
    stage TEXT NOT NULL,
    touchpoint TEXT NOT NULL,
    wanted TEXT NOT NULL,
    triggered_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    mailbox TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    resolved_at TEXT,
    duration_ms REAL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS pending_open ON pending(state) WHERE state = 'pending';
"""

MESSAGE_COLUMNS = [
    "run_id",
    "node_id",
    "segment",
    "stage",
    "address",
    "key",
    "received_at",
    "sender",
    "sender_domain",
    "subject",
    "touchpoint",
    "message_id",
    "date_header",
    "relay_received",
    "problems",
]


def add_message(db: Database, message: MessageReceived) -> None:
    # The same message seen again (a later sweep, `mail poll`) keeps its first record, unless that
    # one did not know which touchpoint it was.
    db.execute(
        f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in MESSAGE_COLUMNS)})"
        " ON CONFLICT(run_id, address, key) DO UPDATE SET touchpoint = excluded.touchpoint"
        " WHERE messages.touchpoint IS NULL AND excluded.touchpoint IS NOT NULL",
        (
            message.run_id,
            message.node_id,
            message.segment,
            message.stage,
            message.address,
            message.key,
            to_iso(message.received_at),
            message.sender,
            message.sender_domain,
            message.subject,
            message.touchpoint,
            message.message_id,
            to_iso(message.date_header),
            to_iso(message.relay_received),
            message.problems,
        ),
    )


def add_pending(db: Database, pending: PendingExpectation) -> None:
    db.execute(
        # Nothing, not an update: the same item written twice must never reopen one already resolved.
        "INSERT INTO pending (run_id, seq, node_id, segment, stage, touchpoint, wanted,"
        " triggered_at, deadline, mailbox) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            pending.run_id,
            pending.seq,
            pending.node_id,
            pending.segment,
            pending.stage,
            pending.touchpoint,
            json.dumps(pending.wanted, sort_keys=True),
            to_iso(pending.triggered_at),
            to_iso(pending.deadline),
            pending.mailbox,
        ),
    )


def resolve(db: Database, resolved: ExpectationResolved) -> bool:
    """Complete a pending expectation and its observation, once; False when it was already resolved.

    Two pollers racing for the same item: the first UPDATE wins, the second changes nothing (SQLite:
    BEGIN IMMEDIATE takes the write lock first; PostgreSQL: the second UPDATE waits on the row's
    lock, then finds it no longer pending).
    """
    db.execute("BEGIN IMMEDIATE")  # plain BEGIN on PostgreSQL (postgres.PgDatabase)
    try:
        changed = db.execute(
            "UPDATE pending SET state = ?, resolved_at = ?, duration_ms = ?"
            " WHERE run_id = ? AND seq = ? AND state = 'pending'",
            (
                resolved.outcome,
                to_iso(resolved.resolved_at),
                resolved.duration_ms,
                resolved.run_id,
                resolved.seq,
            ),
        ).rowcount
        if changed:
            db.execute(
                "UPDATE observations SET outcome = ?, duration_ms = ?, error = ?"
                " WHERE run_id = ? AND seq = ? AND outcome = 'pending'",
                (resolved.outcome, resolved.duration_ms, resolved.error, resolved.run_id, resolved.seq),
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return bool(changed)


def open_pending(db: Database) -> list[PendingExpectation]:
    rows = db.execute(
        "SELECT run_id, seq, node_id, segment, stage, touchpoint, wanted, triggered_at, deadline, mailbox"
        " FROM pending WHERE state = 'pending' ORDER BY triggered_at"
    ).fetchall()
    return [
        PendingExpectation(
            run_id=row[0],
            seq=int(row[1]),
            node_id=row[2],
            segment=row[3],
            stage=row[4],
            touchpoint=row[5],
            wanted=json.loads(row[6]),
            triggered_at=from_iso(row[7]) or dt.datetime.min.replace(tzinfo=dt.UTC),
            deadline=from_iso(row[8]) or dt.datetime.min.replace(tzinfo=dt.UTC),
            mailbox=row[9],
        )
        for row in rows
    ]


def messages(db: Database, run_ids: list[str]) -> list[MessageReceived]:
    found: list[MessageReceived] = []
    for start in range(0, len(run_ids), 500):  # SQLite caps the number of ? in one statement
        chunk = run_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM messages WHERE run_id IN ({marks})"
            " ORDER BY received_at",
            chunk,
        ).fetchall()
        for row in rows:
            values = dict(zip(MESSAGE_COLUMNS, row, strict=True))
            for column in ("received_at", "date_header", "relay_received"):
                values[column] = from_iso(values[column])
            found.append(MessageReceived(**values))
    return found


def prune(db: Database, run_ids: list[str]) -> None:
    marks = ", ".join("?" for _ in run_ids)
    db.execute(f"DELETE FROM messages WHERE run_id IN ({marks})", run_ids)
    db.execute(f"DELETE FROM pending WHERE run_id IN ({marks})", run_ids)
