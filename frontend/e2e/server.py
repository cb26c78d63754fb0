"""The real fieldscope server for the browser tests: a temp SQLite database, migrated and
seeded with a synthetic study, serving a copy of the built app (so a test can ship an update).

    uv run python e2e/server.py --port 8765 --workdir /tmp/x
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

PASSWORD = "correct horse battery"
HERE = Path(__file__).resolve().parent
BUILD = HERE.parents[1] / "backend" / "fieldscope" / "static"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--workdir", type=Path, required=True)
    args = ap.parse_args()
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    static = work / "static"
    if static.exists():
        shutil.rmtree(static)
    if not (BUILD / "index.html").is_file():
        raise SystemExit("build the app first: (cd frontend && npm run build)")
    shutil.copytree(BUILD, static)
    db = work / "e2e.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["FIELDSCOPE_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["FIELDSCOPE_STATIC_DIR"] = str(static)

    import uvicorn

    from fieldscope.app import create_app
    from fieldscope.db import get_engine
    from fieldscope.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    info = seed(engine)
    info["demo"] = demo(engine)
    info.update(static_dir=str(static), base_url=f"http://127.0.0.1:{args.port}", password=PASSWORD)
    (work / "seed.json").write_text(json.dumps(info, indent=1))
    uvicorn.run(create_app(engine), host="127.0.0.1", port=args.port, log_level="warning")


def seed(engine: object) -> dict[str, object]:
    from fieldscope.auth.models import Membership, Role
    from fieldscope.auth.service import create_user
    from fieldscope.changes import set_actor
    from fieldscope.codebook.service import seed_default_codebook
    from fieldscope.db import transaction
    from fieldscope.participants.models import Background, Consent, Participant
    from fieldscope.studies.models import Site, Study

    out: dict[str, object] = {"sites": {}, "participants": {}, "users": {}}
    with transaction(engine) as s:  # type: ignore[arg-type]
        set_actor(s, None, via="cli")
        study = Study(name="Clinical leaders in ICS governance (synthetic)", slug="e2e-study")
        s.add(study)
        s.flush()
        out["study_id"] = str(study.id)
        people = [
            ("EX-01", "Medical director", "executive", Background.medicine, True, Consent.consented),
            ("TH-01", "Chief nurse, urgent care", "thematic", Background.nursing, True, Consent.consented),
            ("TH-02", "Lead pharmacist", "thematic", Background.pharmacy, True, Consent.consented),
            ("PR-01", "GP lead, frailty project", "project", Background.general_practice, True, Consent.consented),
            ("PR-02", "Programme manager", "project", Background.non_clinical, False, Consent.consented),
            ("PR-09", "Midwife lead", "project", Background.midwifery, True, Consent.withdrawn),
        ]
        for code, name, hours in (("A", "North Fields STP", 22), ("B", "River Vale STP", 22), ("C", "Hillside STP", 5)):
            site = Site(study_id=study.id, code=code, name=name, target_hours=hours, target_meetings=10)
            s.add(site)
            s.flush()
            out["sites"][code] = str(site.id)  # type: ignore[index]
            for suffix, role, level, bg, leader, consent in people:
                p = Participant(
                    study_id=study.id, site_id=site.id, code=f"{code}-{suffix}", role_title=role,
                    level=level, background=bg, is_clinical_leader=leader, consent=consent,
                )
                s.add(p)
                s.flush()
                out["participants"][p.code] = str(p.id)  # type: ignore[index]
        out["codebook_version_id"] = str(seed_default_codebook(s, study.id).id)
        for key, email, role in (
            ("fw", "fw@example.org", Role.fieldworker),
            ("fw2", "fw2@example.org", Role.fieldworker),
            ("pi", "pi@example.org", Role.pi),
        ):
            user = create_user(s, email, PASSWORD, display_name=key.upper())
            s.add(Membership(user_id=user.id, study_id=study.id, role=role))
            out["users"][key] = {"id": str(user.id), "email": email}  # type: ignore[index]
    return out


def demo(engine: object) -> dict[str, object]:
    """The synthetic demo study (its PI, analyst and fieldworkers sign in with PASSWORD): the
    dashboard screens read its figures, which add up to the reference study's."""
    from fieldscope.demo.loader import load_demo

    result = load_demo(engine, PASSWORD)  # type: ignore[arg-type]
    return {
        "study_id": str(result.study_id),
        "users": {
            a.key: {"email": a.email, "display_name": a.display_name} for a in result.accounts
        },
    }


if __name__ == "__main__":
    main()
