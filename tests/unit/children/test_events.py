from __future__ import annotations

import io
import json

from envcheck.children import events


def test_a_line_is_marked_strict_json_with_its_event_first():
    text = events.line("end", check="copy", value=float("nan"), values=[float("inf")])
    assert text.startswith(events.MARK) and text.endswith("\n")
    obj = json.loads(text[len(events.MARK):])
    assert list(obj)[0] == "event" and obj["event"] == "end"
    assert obj["value"] == "nan" and obj["values"] == ["inf"]  # never NaN/Infinity in JSON
    assert isinstance(obj["t"], float)


def test_parse_keeps_marked_events_in_order_and_skips_the_rest():
    text = ("torch prints this\n" + events.line("stage", name="import torch")
            + "partial output without newline" + events.line("result", status="ok")
            + '{"event": "unmarked"}\n' + events.MARK + '{"event": "cut sh')
    bad: list = []
    got = events.parse(text, bad)
    assert [e["event"] for e in got] == ["stage", "result"]
    assert got[0]["name"] == "import torch"
    assert bad == [events.MARK + '{"event": "cut sh']


def test_a_marked_object_without_an_event_is_unreadable():
    bad: list = []
    assert events.parse(events.MARK + '{"stage": "x"}\n' + events.MARK + "[1]\n", bad) == []
    assert len(bad) == 2


def test_emitter_appends_to_a_file(tmp_path):
    path = tmp_path / "events"
    with events.Emitter(str(path)) as ev:
        ev.emit("start", pid=1)
    with events.Emitter(str(path)) as ev:
        ev.emit("done")
    assert [e["event"] for e in events.parse(path.read_text())] == ["start", "done"]


def test_emitter_without_a_file_writes_standard_output(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    events.Emitter().emit("imported", version="2.13.0")
    events.emit("done")
    assert [e["event"] for e in events.parse(out.getvalue())] == ["imported", "done"]
