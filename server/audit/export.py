"""The audit export's two formats, shared by the HTTP download and `flask audit export`."""

import csv
import io
import json

CSV_FIELDS = ["id", "at", "actor_id", "actor_username", "action", "target", "request_id", "details"]
FLUSH_BYTES = 64 * 1024


def csv_row(event):
    """One event as a CSV row: `details` as compact JSON, nulls as empty cells."""
    row = dict(event, details=json.dumps(event["details"], sort_keys=True, ensure_ascii=False))
    return ["" if row[name] is None else row[name] for name in CSV_FIELDS]


def export_lines(events, fmt):
    """The export's text in chunks, as the events stream in (CSV: the header first)."""
    if fmt == "jsonl":
        for event in events:
            yield json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for event in events:
        writer.writerow(csv_row(event))
        if buffer.tell() > FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
