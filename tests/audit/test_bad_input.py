"""Bad logs: every class gets a located message, `verify` fails on it, every reader counts what it skips.

The classes: a truncated last line (a crash mid-write), a non-JSON line, a record from an unknown
revision, an empty file, a gzip log (fine) and a cut gzip stream, a chain that starts mid-way.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from governance.audit import verify_logs
from governance.audit.export import export_parquet
from governance.audit.replay import Candidate, replay
from governance.audit.simulate import simulate
from governance.audit.summary import summarise
from governance.audit.table import query
from governance.audit.verify import log_files
from governance.cli import main
from governance.logs import FileSink
from tests.audit.conftest import POLICIES

RECORDS = 120


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sealed file of 120 records: header, records on lines 2-121, seal on line 122."""
    directory = tmp_path_factory.mktemp("good")
    simulate(POLICIES, directory, RECORDS)
    return log_files([directory])[0]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def truncated(good: Path, target: Path) -> Path:
    lines = _lines(good)
    target.write_bytes(b"".join(lines[:-2]) + lines[-2][:50])  # seal lost, last record cut
    return target


def non_json(good: Path, target: Path) -> Path:
    lines = _lines(good)
    target.write_bytes(b"".join([*lines[:10], b"{oops, not json\n", *lines[10:]]))
    return target


def unknown_revision(good: Path, target: Path) -> Path:
    """A properly chained and sealed file, one of whose records names no revisions."""
    records = [orjson.loads(line) for line in _lines(good)[1:-1]]
    del records[9]["revisions"]
    for record in records:
        del record["prev_hash"]
    sink = FileSink(target.parent / "rechained")
    sink.write(records)
    sink.close()
    shutil.move(sink.files[0], target)
    return target


def empty(good: Path, target: Path) -> Path:
    target.write_bytes(b"")
    return target


def cut_gzip(good: Path, target: Path) -> Path:
    whole = gzip.compress(good.read_bytes())
    target.write_bytes(whole[: len(whole) * 2 // 3])
    return target


Maker = Callable[[Path, Path], Path]
# maker, file name, the line verify names, its message, what readers skip (None: nothing)
CASES: list[tuple[Maker, str, int, str, str | None]] = [
    (truncated, "crash.jsonl", RECORDS + 1, "truncated last line (crash mid-write?)",
     f"crash.jsonl:{RECORDS + 1}: truncated last line"),
    (non_json, "junk.jsonl", 11, "not a JSON line", "junk.jsonl:11: not a JSON line"),
    (unknown_revision, "norev.jsonl", 11, "unknown revision", "norev.jsonl:11: unknown revision"),
    (empty, "empty.jsonl", 1, "empty file", "empty.jsonl:1: empty file"),
    (cut_gzip, "cut.jsonl.gz", 0, "gzip stream cut short (crash mid-write?)", "gzip stream cut short"),
]  # fmt: skip
IDS = ["truncated-last-line", "non-json-line", "unknown-revision", "empty-file", "cut-gzip"]


@pytest.mark.parametrize(("maker", "name", "line", "message", "skipped"), CASES, ids=IDS)
def test_verify_fails_with_a_located_message(
    good: Path,
    tmp_path: Path,
    maker: Maker,
    name: str,
    line: int,
    message: str,
    skipped: str | None,
) -> None:
    path = maker(good, tmp_path / name)
    result = verify_logs([path])
    assert not result.ok
    problem = result.breaks[0]
    assert problem.file == name and message in problem.message
    if line:
        assert problem.line == line
    cli = CliRunner().invoke(main, ["audit", "verify", str(path)])
    assert cli.exit_code == 1 and f"first broken record: {name}:" in cli.output


@pytest.mark.parametrize(("maker", "name", "line", "message", "skipped"), CASES, ids=IDS)
def test_every_reader_counts_and_names_what_it_skips(
    good: Path,
    tmp_path: Path,
    maker: Maker,
    name: str,
    line: int,
    message: str,
    skipped: str | None,
) -> None:
    path = maker(good, tmp_path / name)
    readers = {
        "summary": lambda: summarise([path]).skips,
        "query": lambda: query([path], "select count(*) from decisions")[2],
        "replay": lambda: replay([path], Candidate(POLICIES), jobs=1).skips,
        "export": lambda: export_parquet([path], tmp_path / "lake", overwrite=True).skips,
    }
    for reader, skips in readers.items():
        found = skips()
        assert found.count == 1, (reader, found)
        assert skipped is not None and skipped in found.examples[0], (reader, found.examples)
    cli = CliRunner().invoke(main, ["audit", "summary", str(path)])
    assert cli.exit_code == 0 and "skipped 1 unreadable lines" in cli.stderr


def test_gzip_logs_read_like_plain_ones(good: Path, tmp_path: Path) -> None:
    packed = tmp_path / "decisions-000001.jsonl.gz"
    packed.write_bytes(gzip.compress(good.read_bytes()))
    assert verify_logs([packed]).ok and verify_logs([packed]).records == RECORDS
    plain, zipped = summarise([good]).to_dict(), summarise([packed]).to_dict()
    assert plain == zipped and zipped["records"] == RECORDS
    assert query([packed], "select count(*) from decisions")[1] == [(RECORDS,)]
    assert replay([packed], Candidate(POLICIES), jobs=1).replayed == RECORDS
    assert export_parquet([packed], tmp_path / "lake").records == RECORDS


def test_a_chain_starting_mid_way_needs_partial(simulated_log: Path) -> None:
    second = log_files([simulated_log])[1]
    alone = verify_logs([second])
    assert not alone.ok
    assert str(alone.breaks[0]).startswith(f"{second.name}:1: chain starts mid-way")
    assert "--partial" in alone.breaks[0].message
    assert verify_logs([second], partial=True).ok
    cli = CliRunner().invoke(main, ["audit", "verify", str(second)])
    assert cli.exit_code == 1 and "mid-way" in cli.output
    assert CliRunner().invoke(main, ["audit", "verify", str(second), "--partial"]).exit_code == 0
    # readers need no chain: the file's records are all read
    assert summarise([second]).skips.count == 0


def test_verify_accepts_refusals_without_revisions(good: Path) -> None:
    """A request refused before any policy ran names no revision, and that is no problem."""
    records = [orjson.loads(line) for line in _lines(good)[1:-1]]
    assert any(r["revisions"] == {} and "reason_code" in r["result"] for r in records)
    assert verify_logs([good]).ok


def test_an_allowed_that_is_not_a_boolean_is_never_counted_as_access(
    good: Path, tmp_path: Path
) -> None:
    """`"allowed": "false"` is truthy: read as a boolean it would count a deny as an allow."""
    records = [orjson.loads(line) for line in _lines(good)[1:-1]]
    denied = next(i for i, r in enumerate(records) if not r["result"]["allowed"])
    records[denied]["result"]["allowed"] = "false"
    for record in records:
        del record["prev_hash"]
    sink = FileSink(tmp_path / "odd")
    sink.write(records)
    sink.close()
    result = verify_logs([tmp_path / "odd"])
    assert not result.ok and "`result.allowed` must be true or false" in result.breaks[0].message
    summary = summarise([tmp_path / "odd"])
    assert summary.records == RECORDS - 1 and summary.skips.count == 1
    assert summary.allowed == sum(r["result"]["allowed"] is True for r in records)
