"""``smartcustoms events`` and ``smartcustoms trs`` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import orjson
import polars as pl
import pytest
from click.testing import CliRunner

from smartcustoms.cli import cli
from smartcustoms.trs import StudyParams, run_study
from tests.trs.fixture import AS_OF, ATTRIBUTES, events

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(database_url: str) -> Run:
    runner = CliRunner()

    def invoke(*args: str, db: bool = True) -> tuple[int, str, str]:
        full = [*args, "--db", database_url] if db else list(args)
        result = runner.invoke(cli, full, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def fixture_csv(path: Path) -> Path:
    events().drop("source").with_columns(
        pl.col("occurred_at").dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
    ).write_csv(path)
    return path


def test_importing_the_fixture_then_the_report_gives_the_hand_computed_figures(
    run: Run, tmp_path: Path
) -> None:
    code, out, err = run("events", "import", str(fixture_csv(tmp_path / "ev.csv")), "--json")
    # the "teleported" row of C2 is rejected and kept; the rest is stored
    assert code == 1 and "error[events.rejected]" in err
    summary = json.loads(out)
    assert (summary["stored"], summary["rejected"]) == (61, 1)
    rejects = [
        orjson.loads(line) for line in (tmp_path / "ev.csv.rejects.jsonl").read_bytes().splitlines()
    ]
    assert rejects[0]["where"] == "line 21"  # 1 header + 8 rows of C1 + the 12th of C2
    assert rejects[0]["problems"][0]["code"] == "event.type"
    assert orjson.loads(rejects[0]["record"])["event_type"] == "teleported"

    code, out, _ = run("trs", "report", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0
    expected = run_study(events(), None, StudyParams(as_of=AS_OF)).as_dict()
    got = json.loads(out)
    assert got["publication"]["mean_hours"] == pytest.approx(374 / 60)
    assert got["spans"] == expected["spans"]
    assert got["intervals"] == expected["intervals"]
    assert got["consignments"] == expected["consignments"]
    assert got["breakdowns"]["office"] == expected["breakdowns"]["office"]
    # C2's unknown event was rejected at import, so the store has one event fewer
    assert got["quality"][-1]["events"] == expected["quality"][-1]["events"] - 1

    code, out, _ = run(
        "trs", "report", "--as-of", AS_OF.isoformat(), "--by", "office",
        "--parquet", str(tmp_path / "i.parquet"), "--csv", str(tmp_path / "i.csv"),
        "--html", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 0
    assert "Average release time" in out and "6.23 h" in out  # 374 minutes
    assert "By office" in out and "By lane" not in out
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 4 and "6.23 h" in page
    table = pl.read_parquet(tmp_path / "i.parquet")
    assert table.height == 9 and pl.read_csv(tmp_path / "i.csv").height == 9
    c1 = table.filter(pl.col("consignment_id") == "C1").to_dicts()[0]
    assert (c1["release_s"], c1["stage_unloading_s"], c1["stage_release_s"]) == (3600, 1800, 1800)
    c6 = table.filter(pl.col("consignment_id") == "C6").to_dicts()[0]
    assert (c6["exclusion"], c6["release_s"], c6["stage_release_s"]) == ("no_release", None, None)


def test_report_on_files_with_filters(run: Run, tmp_path: Path) -> None:
    events().write_parquet(tmp_path / "ev.parquet")
    ATTRIBUTES.write_csv(tmp_path / "at.csv")
    code, out, _ = run(
        "trs", "report", "--events", str(tmp_path / "ev.parquet"),
        "--attributes", str(tmp_path / "at.csv"), "--as-of", "2026-03-12",
        "--where", "aeo=aeo", "--from", "2026-03-02", "--to", "2026-03-08", "--json",
        db=False,
    )  # fmt: skip
    assert code == 0
    got = json.loads(out)
    # C1 and C5 (AEO, arrived in the week); C6 is AEO too but not released
    assert got["consignments"]["total"] == 3 and got["consignments"]["included"] == 2
    assert got["publication"]["mean_hours"] == pytest.approx(55 / 60)


@pytest.mark.parametrize(
    ("args", "code_word"),
    [
        (("--where", "colour=red"), "trs.invalid"),
        (("--from", "last tuesday"), "trs.invalid"),
        (("--tz", "Mars/Olympus"), "trs.invalid"),
    ],
)
def test_unusable_parameters_are_domain_errors(
    run: Run, args: tuple[str, ...], code_word: str
) -> None:
    code, _, err = run("trs", "report", *args)
    assert code == 1 and f"error[{code_word}]" in err


def test_events_add_one(run: Run) -> None:
    code, out, _ = run("events", "add", "C1", "arrival", "--at", "2026-03-02T09:00:00+01:00")
    assert code == 0 and "added arrival of C1 at 2026-03-02 08:00:00Z" in out
    code, _, err = run("events", "add", "C1", "arrival", "--at", "yesterday")
    assert code == 1 and "event.time" in err
    code, _, err = run("events", "add", "C1", "arrived")
    assert code == 2
    code, _, err = run("events", "add", "C9", "release", "--known-only")
    assert code == 1 and "consignment.not_found" in err
    code, out, _ = run("trs", "report", "--json")
    assert json.loads(out)["consignments"]["excluded"]["no_release"] == 1


def test_import_jsonl_keeps_unreadable_lines_and_parquet_imports(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_bytes(
        b'{"consignment_id": "C1", "event_type": "arrival", "occurred_at": "2026-03-02T08:00"}\n'
        b'{"consignment_id": "C1", "event_type": "release",\n'
        b'{"consignment_id": "C1", "event_type": "release", "occurred_at": "2026-03-02T09:00:00Z",'
        b' "colour": "red"}\n'
        b"\n"
        b'{"consignment_id": "", "event_type": "exit", "occurred_at": "soon"}\n'
        b'{"consignment_id": "C1", "event_type": "release", "occurred_at": "2026-03-02T09:00"}\n'
    )
    rejects = tmp_path / "bad.jsonl"
    code, out, _ = run("events", "import", str(path), "--rejects", str(rejects), "--json")
    assert code == 1
    assert (json.loads(out)["stored"], json.loads(out)["rejected"]) == (2, 3)
    rows = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [r["where"] for r in rows] == ["line 2", "line 3", "line 5"]
    assert rows[0]["record"] == '{"consignment_id": "C1", "event_type": "release",'
    assert [p["code"] for p in rows[2]["problems"]] == ["event.consignment", "event.time"]

    events().filter(pl.col("consignment_id") == "C3").drop("source").write_parquet(
        tmp_path / "c3.parquet"
    )
    code, out, _ = run("events", "import", str(tmp_path / "c3.parquet"), "--json")
    assert code == 0 and json.loads(out)["stored"] == 12
    assert not (tmp_path / "c3.parquet.rejects.jsonl").exists()

    code, _, err = run("events", "import", str(tmp_path / "c3.parquet"), "--known-only")
    assert code == 1 and "consignment.not_found" in err


def test_a_file_with_wrong_columns_stores_nothing(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("consignment,kind,when\nC1,arrival,2026-03-02T08:00:00Z\n")
    code, _, err = run("events", "import", str(path))
    assert code == 1 and "error[input.invalid]" in err and "nothing was stored" in err
    code, out, _ = run("trs", "report", "--json")
    assert json.loads(out)["consignments"]["total"] == 0
    code, _, err = run("events", "import", str(tmp_path / "x.csv").replace(".csv", ".xls"))
    assert code == 2  # click: no such file
