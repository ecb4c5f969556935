"""The benchmark reads what the servers log and serves: checks of its parsing, no servers."""

import json

from flask import Flask

from bench.run import writer_stats
from server.edge.buffered import UNSET_LIMIT, largest_body


def test_writer_counters_are_read_from_json_log_lines_and_text_ones(tmp_path):
    counters = {"operations": 30, "commits": 3, "rounds": 3, "reads": 60, "writes": 150, "conflicts": 0,
                "failed_commits": 0, "retried_operations": 0, "round_seconds": 0.3, "queue_wait_seconds": 0.6,
                "channel_wait_seconds": 0.0, "served": 10}
    as_json = tmp_path / "json.log"
    as_json.write_text(json.dumps({"severity": "INFO", "message": f"ledger writer: {json.dumps(counters)}"}) + "\n")
    as_text = tmp_path / "text.log"
    as_text.write_text(f"INFO server.ledger.writer ledger writer: {json.dumps(counters)}\n")
    for log in (as_json, as_text):
        stats = writer_stats([str(log)])
        assert (stats["ops_per_commit"], stats["reads_per_op"], stats["committing_processes"]) == (10.0, 2.0, 1)
    assert writer_stats([str(as_json), str(as_text)])["operations"] == 60


def test_an_app_without_a_body_limit_gets_the_fronts_own():
    """The minimal baseline app sets no MAX_CONTENT_LENGTH: its JSON bodies must get through."""
    assert largest_body(Flask(__name__)) == UNSET_LIMIT


def test_of_several_rounds_the_median_one_is_reported_with_every_round_s_errors_and_figures():
    from bench.run import median_round, rounds_lines

    def round_(n, cpu, errors=None, problems=()):
        return {"round": n, "mix": "bank", "processes": 4, "ok_per_s": 500.0 + n, "p99_ms": 40.0,
                "cpu_ms_per_transfer": cpu, "errors": errors or {}, "ledger": {"problems": list(problems)}}

    chosen = median_round([round_(1, 1.9), round_(2, 1.7, {"503": 1}), round_(3, 2.4, problems=["lost 5"])])
    assert chosen["round"] == 1 and chosen["cpu_ms_per_transfer"] == 1.9  # the median, not the best
    assert chosen["errors"] == {"503": 1} and chosen["ledger"]["problems"] == ["lost 5"]  # none hidden
    assert [r["cpu_ms_per_transfer"] for r in chosen["rounds"]] == [1.9, 1.7, 2.4]
    assert "round 3: 503/s, 2.4 ms" in rounds_lines([chosen])
    assert median_round([round_(1, 1.5), round_(2, 1.4)])["round"] == 2  # of two, the lower
    assert rounds_lines([median_round([round_(1, 1.5)])]) == ""  # one round: no extra section
