"""Randomized stateful model test of sync (SYNC.md "Tests that prove it").

Several simulated devices (two fieldworkers, one of them with a tablet and a phone, and a
PI) record meetings, sessions, interventions and notes offline and sync through a nemesis
that drops requests and replies, duplicates, reorders and delays them, and restarts the
app (a new app instance on the same database). At quiescence:
- every device's outbox is empty and its copy equals the server's state for its user;
- every accepted value is found again (history or conflict log); every mutation took
  effect at most once and got one outcome however often it was replayed; a client's
  mutations took effect in seq order; each field ends with the value of the last accepted
  mutation that changed it;
- each site's hours equal those of the devices' sessions (union per meeting; the plain
  sum for observer time), and no session is counted twice.

CI runs a modest number of histories. Locally:
    FIELDSCOPE_SYNC_EXAMPLES=2000 uv run pytest tests/sync/test_model.py --hypothesis-seed=7
A failure prints the shortest failing history (every step and nemesis event) and a
`@reproduce_failure(...)` line: put it above `class SyncModel` to replay it exactly.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fieldscope.app import create_app
from fieldscope.auth.models import Role
from fieldscope.db import transaction
from fieldscope.sync.models import AppliedMutation, ChangeLogEntry, SyncConflict
from fieldscope.sync.state import new_epoch
from tests.factories import add_user, login, make_study

EXAMPLES = int(os.environ.get("FIELDSCOPE_SYNC_EXAMPLES", "8"))
STEPS = int(os.environ.get("FIELDSCOPE_SYNC_STEPS", "50"))
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ACTIONS = ["meeting", "session", "session", "end", "tag", "tag", "tag", "note", "edit", "edit"]
ACTIONS += ["edit", "delete"]
FAULTS = ["ok", "ok", "ok", "drop_request", "drop_reply", "duplicate", "delay", "shuffle"]
Key = tuple[str, str]
_study_numbers = itertools.count(1)
STATS: Counter[str] = Counter()
# Records in the order the model made them: ids are random, choices must not depend on them
# (a failing history has to replay exactly).
ORDER: dict[str, int] = {}
_ordinal = itertools.count(1)


def new_record_id() -> str:
    rid = str(uuid.uuid4())
    ORDER[rid] = next(_ordinal)
    return rid


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(value: Any) -> Any:
    """Compare instants as instants: the server may spell them differently."""
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, list):
        return [parse(v) for v in value]
    if isinstance(value, dict):
        return {k: parse(v) for k, v in value.items()}
    return value


def observed(session: dict[str, Any]) -> list[tuple[float, float]]:
    """A session's span minus its pauses (an independent re-implementation of the rule)."""
    start = parse(session["started_at"]).timestamp()
    end = parse(session["ended_at"]).timestamp()
    spans, at = [], start
    for pause in sorted(session["pauses"], key=lambda p: p["start"]):
        p_start = max(parse(pause["start"]).timestamp(), start)
        p_end = min(parse(pause["end"]).timestamp(), end) if pause["end"] else end
        if p_start > at:
            spans.append((at, p_start))
        at = max(at, p_end)
    if at < end:
        spans.append((at, end))
    return spans


def union(spans: list[tuple[float, float]]) -> float:
    total, cur = 0.0, None
    for b, e in sorted(spans):
        if cur is None or b > cur[1]:
            total += (cur[1] - cur[0]) if cur else 0.0
            cur = (b, e)
        else:
            cur = (cur[0], max(cur[1], e))
    return total + ((cur[1] - cur[0]) if cur else 0.0)


@dataclass
class Device:
    name: str
    user: str
    headers: dict[str, str]
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)
    view: dict[Key, dict[str, Any]] = field(default_factory=dict)  # pulled copies
    cursor: int = 0
    epoch: str | None = None
    offline_for: int = 0  # steps left in an offline spell
    creates: set[str] = field(default_factory=set)  # mutation ids that created a record

    @property
    def online(self) -> bool:
        return self.offline_for == 0

    def local(self) -> dict[Key, dict[str, Any]]:
        """What the device shows: pulled copies with its unsent changes on top.

        An unsent edit of a record the device no longer holds (its create was refused, or
        sent and not yet pulled back, or a reset dropped the copy) shows nothing: its
        fields alone are not a record. It stays queued, and the server judges it.
        """
        state = {k: dict(v) for k, v in self.view.items()}
        for m in self.pending:
            key = (m["entity"], m["record_id"])
            if m["op"] == "delete":
                if key in state:
                    state[key]["deleted_at"] = "pending"
            elif key in state or m["mutation_id"] in self.creates:
                state.setdefault(key, {"id": m["record_id"], "deleted_at": None})
                state[key].update(m["fields"])
                state[key]["deleted_at"] = None
        return state

    def live(self, entity: str, **match: Any) -> list[dict[str, Any]]:
        return sorted(
            (
                v
                for (e, _), v in self.local().items()
                if e == entity
                and v.get("deleted_at") is None
                and all(v.get(k) == x for k, x in match.items())
            ),
            key=lambda v: ORDER.get(str(v["id"]), 0),
        )


class SyncModel(RuleBasedStateMachine):
    engine: ClassVar[Engine]

    def __init__(self) -> None:
        super().__init__()
        self.rng = random.Random(0)
        self.http = TestClient(create_app(self.engine), raise_server_exceptions=True)
        self.delayed: list[tuple[Device, dict[str, Any]]] = []
        self.sent: dict[str, dict[str, Any]] = {}  # every mutation ever queued, by id
        self.outcomes: dict[str, set[str]] = defaultdict(set)
        self.counter = itertools.count(1)
        self.restarts = 0
        self.faults = 0
        self.steps = 0
        self.pushes = 0

    # --- setup ------------------------------------------------------------------------------

    @initialize()
    def setup_study(self) -> None:
        slug = f"model-{uuid.uuid4().hex[:8]}-{next(_study_numbers)}"
        self.study_id, self.site_ids, self.version_id, leaders = make_study(self.engine, slug)
        self.leaders = {site: [str(i) for c, i in leaders.items() if c[0] == site] for site in "AB"}
        people = {
            "fw1": Role.fieldworker,
            "fw2": Role.fieldworker,
            "pi": Role.pi,
        }
        headers = {}
        self.user_ids: dict[str, str] = {}
        for key, role in people.items():
            email = f"{key}-{slug}@example.org"
            self.user_ids[key] = str(add_user(self.engine, email, self.study_id, role))
            headers[key] = login(self.http, email)
        self.devices = [
            Device("fw1-tablet", "fw1", headers["fw1"]),
            Device("fw1-phone", "fw1", headers["fw1"]),
            Device("fw2-tablet", "fw2", headers["fw2"]),
            Device("pi-laptop", "pi", headers["pi"]),
        ]
        for dev in self.devices:
            self._pull(dev, "ok")

    # --- what devices do offline ---------------------------------------------------------------

    def _queue(
        self, dev: Device, entity: str, record_id: str, fields: dict[str, Any], op: str = "upsert"
    ) -> bool:
        dev.seq += 1
        known = dev.view.get((entity, record_id))
        creates = op == "upsert" and (entity, record_id) not in dev.local()
        m = {
            "mutation_id": str(uuid.uuid4()),
            "client_seq": dev.seq,
            "entity": entity,
            "op": op,
            "record_id": record_id,
            "base_version": known["version"] if known else None,
            "fields": fields,
            "device_time": iso(T0 + timedelta(seconds=dev.seq)),
        }
        dev.pending.append(m)
        if creates:
            dev.creates.add(m["mutation_id"])
        self.sent[m["mutation_id"]] = m
        note(f"{dev.name} queues #{dev.seq} {op} {entity} {record_id[-6:]} {fields}")
        return True

    def _text(self, dev: Device, what: str) -> str:
        return f"{dev.name}-{what}-{next(self.counter)}"

    def _own_sessions(self, dev: Device) -> list[dict[str, Any]]:
        sessions = dev.live("observation_session")
        if dev.user == "pi":
            return sessions
        # Pulled sessions carry observer_id; ones created on this device do not yet.
        return [s for s in sessions if s.get("observer_id") in (None, self.user_ids[dev.user])]

    def _meeting(self, dev: Device, pick: int) -> bool:
        site = "AB"[pick % 2]
        return self._queue(
            dev,
            "meeting",
            new_record_id(),
            {
                "study_id": str(self.study_id),
                "site_id": str(self.site_ids[site]),
                "level": "thematic",
                "title": self._text(dev, "meeting"),
                "scheduled_start": iso(T0),
            },
        )

    def _session(self, dev: Device, pick: int, n: int) -> bool:
        meetings = dev.live("meeting")
        if not meetings:
            return False
        meeting = meetings[pick % len(meetings)]
        begin = T0 + timedelta(minutes=n % 240)
        minutes = 10 + n % 170
        ended = pick % 4 != 0
        pauses = []
        if ended and pick % 3 == 0:
            pauses = [
                {
                    "start": iso(begin + timedelta(minutes=5)),
                    "end": iso(begin + timedelta(minutes=9)),
                }
            ]
        return self._queue(
            dev,
            "observation_session",
            new_record_id(),
            {
                "meeting_id": meeting["id"],
                "started_at": iso(begin),
                "ended_at": iso(begin + timedelta(minutes=minutes)) if ended else None,
                "pauses": pauses,
            },
        )

    def _end(self, dev: Device, pick: int, n: int) -> bool:
        sessions = self._own_sessions(dev)
        if not sessions:
            return False
        s = sessions[pick % len(sessions)]
        end = parse(s["started_at"]) + timedelta(minutes=5 + n % 200)
        return self._queue(dev, "observation_session", s["id"], {"ended_at": iso(end)})

    def _tag(self, dev: Device, pick: int, n: int) -> bool:
        meetings = {m["id"]: m for m in dev.live("meeting")}
        sessions = [s for s in self._own_sessions(dev) if s["meeting_id"] in meetings]
        if not sessions:
            return False
        s = sessions[pick % len(sessions)]
        site_id = meetings[s["meeting_id"]]["site_id"]
        site = next(k for k, v in self.site_ids.items() if str(v) == site_id)
        return self._queue(
            dev,
            "intervention",
            new_record_id(),
            {
                "session_id": s["id"],
                "participant_id": self.leaders[site][pick % 2],
                "codebook_version_id": str(self.version_id),
                "code_key": ["relational", "representation"][pick % 2],
                "offset_seconds": n % 600,
                "quote": self._text(dev, "quote"),
            },
        )

    def _note(self, dev: Device, pick: int, n: int) -> bool:
        notes = dev.live("field_note")
        if notes and n % 2:
            target = notes[pick % len(notes)]
            return self._queue(dev, "field_note", target["id"], {"text": self._text(dev, "text")})
        sessions = self._own_sessions(dev)
        if not sessions:
            return False
        s = sessions[pick % len(sessions)]
        return self._queue(
            dev,
            "field_note",
            new_record_id(),
            {"session_id": s["id"], "kind": "reflection", "text": self._text(dev, "note")},
        )

    def _edit(self, dev: Device, pick: int, n: int) -> bool:
        items = dev.live("intervention")
        if not items:
            return False
        iv = items[pick % min(2, len(items))]  # a few hot records, so edits collide
        what = ("quote", "note")[n % 2]
        return self._queue(dev, "intervention", iv["id"], {what: self._text(dev, what)})

    def _delete(self, dev: Device, pick: int, n: int) -> bool:
        entity = ("intervention", "field_note", "intervention", "observation_session")[n % 4]
        items = dev.live(entity)
        if not items:
            return False
        return self._queue(dev, entity, items[pick % len(items)]["id"], {}, op="delete")

    @rule(
        d=st.integers(0, 3),
        action=st.sampled_from(ACTIONS),
        pick=st.integers(0, 10**6),
        n=st.integers(0, 10**6),
        times=st.integers(1, 3),
    )
    def record(self, d: int, action: str, pick: int, n: int, times: int) -> None:
        """A device does something offline (falling back to what it can do)."""
        self.steps += 1
        for i in range(times):
            self._record(self.devices[d], action, pick + i, n + 7 * i)

    def _record(self, dev: Device, action: str, pick: int, n: int) -> None:
        if dev.user == "pi":  # the PI only edits and deletes fieldworkers' records
            _ = self._edit(dev, pick, n) or self._delete(dev, pick, n)
            return
        steps = {
            "meeting": lambda: self._meeting(dev, pick),
            "session": lambda: self._session(dev, pick, n),
            "end": lambda: self._end(dev, pick, n),
            "tag": lambda: self._tag(dev, pick, n),
            "note": lambda: self._note(dev, pick, n),
            "edit": lambda: self._edit(dev, pick, n),
            "delete": lambda: self._delete(dev, pick, n),
        }
        for fallback in (action, "tag", "session", "meeting"):
            if steps[fallback]():
                return

    @rule(
        pick=st.integers(0, 10**6),
        kind=st.sampled_from(["quote", "quote", "note", "edit-delete", "delete-edit"]),
    )
    def collide(self, pick: int, kind: str) -> None:
        """Two devices change the same pulled record before either syncs."""
        shared = [
            (a, b, key)
            for a, b in itertools.permutations(self.devices, 2)
            for key, v in a.view.items()
            if key[0] == "intervention"
            and key in b.view
            and v["deleted_at"] is None
            and b.view[key]["deleted_at"] is None
        ]
        if not shared:
            return
        first, second, (entity, rid) = shared[pick % len(shared)]
        self.steps += 1
        for i, dev in enumerate((first, second)):
            if (kind == "edit-delete" and i == 1) or (kind == "delete-edit" and i == 0):
                self._queue(dev, entity, rid, {}, op="delete")
            else:
                what = "quote" if kind == "quote" else "note"
                self._queue(dev, entity, rid, {what: self._text(dev, what)})

    # --- the network, the nemesis and the server ------------------------------------------------

    @rule(d=st.integers(0, 3), fault=st.sampled_from(FAULTS), size=st.integers(1, 20))
    def sync(self, d: int, fault: str, size: int) -> None:
        self.steps += 1
        for x in self.devices:
            x.offline_for = max(0, x.offline_for - 1)
        dev = self.devices[d]
        if not dev.pending:  # then the next online device with something to send pushes too
            ready = [x for x in self.devices[d:] + self.devices[:d] if x.online and x.pending]
            if ready:
                self._push(ready[0], fault, size)
        if dev.online:
            self._push(dev, fault, size)
            self._pull(dev, self.rng.choice(["ok", "ok", "drop_reply"]))

    @rule(
        what=st.sampled_from(["late", "offline", "late", "restart", "epoch"]),
        d=st.integers(0, 3),
        pick=st.integers(0, 1000),
        spell=st.integers(1, 8),
    )
    def nemesis(self, what: str, d: int, pick: int, spell: int) -> None:
        dev = self.devices[d]
        if what == "offline":
            dev.offline_for = spell
            note(f"{dev.name} goes offline for {spell} steps")
        elif what == "late" and self.delayed:
            dev, body = self.delayed.pop(pick % len(self.delayed))
            seqs = [m["client_seq"] for m in body["mutations"]]
            note(f"late delivery of {dev.name}'s push of seqs {seqs}")
            self._deliver(dev, body)
        elif what == "restart":
            note("app restart (new app instance on the same database)")
            self.http.close()
            self.engine.dispose()
            self.http = TestClient(create_app(self.engine), raise_server_exceptions=True)
            self.restarts += 1
        elif what == "epoch":
            note("server starts a new epoch: every device must reset")
            with transaction(self.engine) as s:
                new_epoch(s)

    def _push(self, dev: Device, fault: str, size: int) -> None:
        if not dev.pending:
            return
        batch = [dict(m) for m in dev.pending[:size]]
        if fault == "shuffle":
            self.rng.shuffle(batch)
        body = {
            "protocol": 1,
            "client_id": str(dev.client_id),
            "device_time": iso(T0),
            "mutations": batch,
        }
        seqs = [m["client_seq"] for m in batch]
        note(f"{dev.name} pushes seqs {seqs} [{fault}]")
        self.pushes += 1
        self.faults += fault != "ok"
        if fault == "drop_request":
            return
        if fault == "delay":
            self.delayed.append((dev, body))
            return
        reply = self._deliver(dev, body, apply=fault != "drop_reply")
        if fault == "duplicate":
            again = self._deliver(dev, body)
            assert reply is None or [r["outcome"] for r in reply] == [
                r["outcome"] for r in again or []
            ]

    def _deliver(
        self, dev: Device, body: dict[str, Any], apply: bool = True
    ) -> list[dict[str, Any]] | None:
        res = self.http.post("/api/v1/sync/push", json=body, headers=dev.headers)
        assert res.status_code == 200, f"{dev.name}: {res.status_code} {res.text}"
        results: list[dict[str, Any]] = res.json()["results"]
        for r in results:
            self.outcomes[r["mutation_id"]].add(r["outcome"])
            sent = self.sent[r["mutation_id"]]
            assert sent["client_seq"] == r["client_seq"]
        if not apply:
            return None
        done = {r["mutation_id"] for r in results}
        dev.pending = [m for m in dev.pending if m["mutation_id"] not in done]
        for r in results:
            if r["outcome"] == "rejected":
                note(f"{dev.name} #{r['client_seq']} rejected: {r['reason']}")
        return results

    def _pull(self, dev: Device, fault: str) -> None:
        for _ in range(1000):
            params: dict[str, Any] = {"cursor": dev.cursor, "limit": self.rng.choice([3, 17, 500])}
            if dev.epoch:
                params["epoch"] = dev.epoch
            res = self.http.get("/api/v1/sync/pull", params=params, headers=dev.headers)
            assert res.status_code == 200, res.text
            if fault == "drop_reply" and self.rng.random() < 0.5:
                note(f"{dev.name}: pull reply lost")
                return
            page = res.json()
            if page["reset"]:
                note(f"{dev.name}: reset")
                dev.view.clear()
                dev.cursor, dev.epoch = 0, page["server_epoch"]
                continue
            dev.epoch = page["server_epoch"]
            for change in page["changes"]:
                dev.view[(change["entity"], change["record_id"])] = change["data"]
            dev.cursor = page["next_cursor"]
            if not page["has_more"]:
                return
        raise AssertionError("pull did not end")

    # --- quiescence and the invariants -------------------------------------------------------

    def teardown(self) -> None:
        try:
            if hasattr(self, "devices"):
                self._quiesce()
                self._check()
        finally:
            self.http.close()

    def _quiesce(self) -> None:
        while self.delayed:
            dev, body = self.delayed.pop(0)
            self._deliver(dev, body)
        for dev in self.devices:
            dev.offline_for = 0
            for _ in range(100):
                if not dev.pending:
                    break
                self._push(dev, "ok", 500)
            assert not dev.pending, f"{dev.name} could not empty its outbox"
        for dev in self.devices:
            self._pull(dev, "ok")

    def _check(self) -> None:
        # 1. Every device's copy is the server's state for its user.
        for dev in self.devices:
            fresh = Device("fresh", dev.user, dev.headers)
            self._pull(fresh, "ok")
            assert dev.view == fresh.view, f"{dev.name} differs from the server"

        with transaction(self.engine, write=False) as s:
            clients = [d.client_id for d in self.devices]
            applied = (
                s.execute(
                    select(AppliedMutation).where(AppliedMutation.client_id.in_(clients))  # type: ignore[attr-defined]
                )
                .scalars()
                .all()
            )
            log = (
                s.execute(
                    select(ChangeLogEntry)
                    .where(ChangeLogEntry.study_id == self.study_id)
                    .order_by(ChangeLogEntry.cursor)
                )
                .scalars()
                .all()
            )
            conflicts = (
                s.execute(select(SyncConflict).where(SyncConflict.study_id == self.study_id))
                .scalars()
                .all()
            )

        # 2. Each mutation: one outcome however often replayed, at most one effect.
        assert {str(a.mutation_id) for a in applied} == set(self.sent), "a mutation was lost"
        for mid, seen in self.outcomes.items():
            assert len(seen) == 1, f"mutation {mid} got outcomes {seen}"
        by_mutation: dict[str, list[ChangeLogEntry]] = defaultdict(list)
        for row in log:
            if row.mutation_id is not None:
                by_mutation[str(row.mutation_id)].append(row)
        for mid, rows in by_mutation.items():
            targets = [r for r in rows if str(r.record_id) == self.sent[mid]["record_id"]]
            assert len(targets) <= 1, f"mutation {mid} took effect {len(targets)} times"

        # 3. A client's mutations took effect in seq order.
        for dev in self.devices:
            mine = {
                str(a.mutation_id): a.client_seq for a in applied if a.client_id == dev.client_id
            }
            effects = sorted(
                (mine[mid], r.cursor)
                for mid, rows in by_mutation.items()
                if mid in mine
                for r in rows
                if str(r.record_id) == self.sent[mid]["record_id"]
            )
            cursors = [c for _, c in effects]
            assert cursors == sorted(cursors), f"{dev.name}'s mutations applied out of order"

        # 4. Every accepted value is found again; each field ends with the last accepted value.
        outcome = {str(a.mutation_id): a.outcome for a in applied}
        history: dict[Key, list[ChangeLogEntry]] = defaultdict(list)
        for row in log:
            history[(row.entity, str(row.record_id))].append(row)
        lost_values = {(str(c.record_id), c.field): c for c in conflicts}
        for mid, m in self.sent.items():
            if outcome[mid] == "rejected" or m["op"] == "delete":
                continue
            rows = history[(m["entity"], m["record_id"])]
            for name, value in m["fields"].items():
                found = any(parse(r.data.get(name)) == parse(value) for r in rows) or any(
                    parse(value) in (parse(c.winning_value), parse(c.losing_value))
                    for (rid, f), c in lost_values.items()
                    if rid == m["record_id"] and f == name
                )
                assert found, f"accepted {m['entity']}.{name}={value!r} ({mid}) is lost"
        # Later-applied wins: replay every accepted write in the order the server applied
        # them (one push after another; seq order within a push) and compare.
        expected: dict[tuple[Key, str], Any] = {}
        for a in sorted(applied, key=lambda a: (a.received_at, a.client_seq)):
            m = self.sent[str(a.mutation_id)]
            if a.outcome == "rejected" or m["op"] == "delete":
                continue
            for name, value in m["fields"].items():
                expected[((m["entity"], m["record_id"]), name)] = value
        pi_view = next(d for d in self.devices if d.user == "pi").view
        for (key, name), value in expected.items():
            if name == "pauses":  # stored in time order
                continue
            got = pi_view[key].get(name)
            assert parse(got) == parse(value), f"{key}.{name} is {got!r}, the last write {value!r}"

        # 5. Hours equal the devices' sessions; nothing counted twice.
        self._check_hours(pi_view)

        # What the histories exercised (printed at the end of the test, pytest -s).
        STATS["histories"] += 1
        STATS["steps"] += self.steps
        STATS["pushes"] += self.pushes
        STATS["mutations"] += len(applied)
        STATS["conflicts"] += len(conflicts)
        STATS["rejected"] += sum(a.outcome == "rejected" for a in applied)
        STATS["faults"] += self.faults
        STATS["app restarts"] += self.restarts

    def _check_hours(self, view: dict[Key, dict[str, Any]]) -> None:
        meetings = {
            k[1]: v for k, v in view.items() if k[0] == "meeting" and v["deleted_at"] is None
        }
        per_meeting: dict[str, list[tuple[float, float]]] = defaultdict(list)
        observer: dict[str, float] = defaultdict(float)
        sessions: dict[str, int] = defaultdict(int)
        for (entity, _), s in view.items():
            if entity != "observation_session" or s["deleted_at"] is not None or not s["ended_at"]:
                continue
            meeting = meetings.get(s["meeting_id"])
            if meeting is None:
                continue
            spans = observed(s)
            per_meeting[s["meeting_id"]].extend(spans)
            observer[meeting["site_id"]] += sum(e - b for b, e in spans)
            sessions[meeting["site_id"]] += 1
        seconds: dict[str, float] = defaultdict(float)
        for meeting_id, spans in per_meeting.items():
            seconds[meetings[meeting_id]["site_id"]] += union(spans)
        pi = next(d for d in self.devices if d.user == "pi")
        res = self.http.get(f"/api/v1/studies/{self.study_id}/totals", headers=pi.headers)
        assert res.status_code == 200, res.text
        for site in res.json()["sites"]:
            sid = site["site_id"]
            assert site["sessions"] == sessions[sid], (
                f"site {site['code']}: sessions counted wrongly"
            )
            assert abs(site["observer_seconds"] - observer[sid]) < 1e-6, (
                f"site {site['code']} observer time"
            )
            assert abs(site["seconds"] - seconds[sid]) < 1e-6, f"site {site['code']} hours"


def test_sync_model(engine: Engine) -> None:
    SyncModel.engine = engine
    STATS.clear()
    run_state_machine_as_test(
        SyncModel,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
    print(f"sync model on {engine.dialect.name}: {dict(STATS)}")


def test_a_device_shows_no_record_made_of_an_edit_alone() -> None:
    """The model's device view: an unsent edit of a record it does not hold (its create
    was refused, or sent and not pulled back yet) is no record to pick for the next step;
    its own unsent create is."""
    dev = Device("tablet", "fw1", {})
    create = {"mutation_id": "c", "entity": "observation_session", "op": "upsert"}
    edit = {"mutation_id": "e", "entity": "observation_session", "op": "upsert"}
    dev.pending = [
        {**create, "record_id": "mine", "fields": {"meeting_id": "m", "started_at": "t"}},
        {**edit, "record_id": "mine", "fields": {"ended_at": "u"}},
        {**edit, "mutation_id": "e2", "record_id": "gone", "fields": {"ended_at": "u"}},
    ]
    dev.creates = {"c"}
    assert dev.local() == {
        ("observation_session", "mine"): {
            "id": "mine",
            "deleted_at": None,
            "meeting_id": "m",
            "started_at": "t",
            "ended_at": "u",
        }
    }
