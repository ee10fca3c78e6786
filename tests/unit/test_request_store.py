"""Storing observation requests: references checked, accepted and charged in one transaction, or nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pyros.db.engine import Database
from pyros.db.errors import QuotaExceeded
from pyros.db.demo_site import load_demo_site
from pyros.db.models import ObservationRequest, Plan, Target, User
from pyros.db.quota_accounting import quota_of
from pyros.requests import InvalidRequest, parse_request
from pyros.requests.store import READOUT_S, SETUP_S, planned_duration_s, request_summary, store_request
from pyros.testing import PROJECT_ROOT
from tests.db_fixtures import database, postgres_module_database, sqlite_template  # noqa: F401

NOW = datetime(2030, 6, 1, 22, 0, tzinfo=timezone.utc)
EXAMPLES = Path(PROJECT_ROOT) / "etc" / "requests"


def demo(database: Database) -> None:
    with database.transaction() as session:
        load_demo_site(session, now=NOW)


def counts(database: Database) -> tuple[int, int, int]:
    with database.session() as session:
        return (session.scalar(select(func.count()).select_from(ObservationRequest)),
                session.scalar(select(func.count()).select_from(Target)),
                session.scalar(select(func.count()).select_from(Plan)))


def test_examples_are_stored_accepted_and_charged(database: Database) -> None:
    demo(database)
    used_before = alice_used_s(database)
    charged = 0
    for name in ("m31_deep", "grb_followup", "calibrations"):
        spec = parse_request((EXAMPLES / f"{name}.xml").read_bytes())
        with database.transaction() as session:
            stored = store_request(session, spec, username="alice", actor="alice", now=NOW)
            summary = request_summary(stored, details=True)
        assert summary["status"] == "accepted" and summary["user"] == "alice"
        expected = sum(planned_duration_s(s) for s in spec.sequences)
        assert summary["charged_hours"] == pytest.approx(round(expected) / 3600.0, abs=1e-4)
        charged += round(expected)
    assert summary["sequences"][0]["albums"][0]["plans"][0] == {"filter": "dark", "exposure_s": 0.0, "count": 11,
                                                                "binning": 1, "type": "bias"}
    assert alice_used_s(database) == used_before + charged


def alice_used_s(database: Database) -> int:
    with database.session() as session:
        user_id = session.scalar(select(User.id).where(User.username == "alice"))
        quota = quota_of(session, user_id=user_id)
        assert quota is not None
        return quota.used_seconds


def test_planned_duration_counts_setup_exposures_and_readouts() -> None:
    spec = parse_request((EXAMPLES / "m31_deep.xml").read_bytes())
    assert planned_duration_s(spec.sequences[0]) == SETUP_S + 5 * (120 + READOUT_S) + 5 * (60 + READOUT_S)


def test_unknown_references_are_located_and_nothing_is_stored(database: Database) -> None:
    demo(database)
    before = counts(database)
    text = (EXAMPLES / "grb_followup.xml").read_text()
    bad = text.replace('program="GRB follow-up"', 'program="Astrology"').replace('detector="cam_nir"',
                                                                              'detector="cam_uv"')
    bad = bad.replace('<plan filter="r" exposure="300" count="6"/>', '<plan filter="U" exposure="300" count="6"/>')
    with pytest.raises(InvalidRequest) as raised, database.transaction() as session:
        store_request(session, parse_request(bad), username="alice", actor="alice", now=NOW)
    found = {(p.element, p.attribute): p for p in raised.value.problems}
    assert "no scientific program named 'Astrology'; known: Calibrations, GRB follow-up" in \
        found[("/request", "program")].message
    assert found[("/request", "program")].line == 3
    assert "no active camera 'cam_uv'; cameras: cam_nir, cam_vis" in found[("/request/sequence[1]/album[2]",
                                                                              "detector")].message
    assert "filter 'U' is not on cam_vis's wheel fw_vis (g, r, i, z)" in \
        found[("/request/sequence[2]/album/plan", "filter")].message
    with pytest.raises(InvalidRequest, match="no active user 'mallory'"), database.transaction() as session:
        store_request(session, parse_request(text), username="mallory", actor="mallory", now=NOW)
    assert counts(database) == before


def test_over_quota_is_refused_with_both_numbers_and_nothing_is_stored(database: Database) -> None:
    demo(database)
    before = counts(database)
    text = (EXAMPLES / "m31_deep.xml").read_text().replace('count="5"/>', 'count="2000"/>')
    with pytest.raises(QuotaExceeded) as raised, database.transaction() as session:
        store_request(session, parse_request(text), username="olga", actor="olga", now=NOW)
    assert raised.value.remaining_hours < raised.value.needed_hours
    assert "remaining" in str(raised.value) and "needs" in str(raised.value)
    assert counts(database) == before
