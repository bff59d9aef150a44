"""The AT stream parser on split, merged, echoed and URC-interleaved input."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dut.parser import ATStreamParser, Line, Payload, Prompt

STREAM = (b"ATI\r\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n"
          b"\r\n+QCOAPRECV: 0,1234,4.04,6,D204D52E814B,0,11\r\nNot\r\nFound\xff\r\n"
          b"\r\n> \r\nOK\r\n\r\n+QCOAPACK: 0,1,1234,0\r\n")
EXPECTED = [
    Line("ATI", 0), Line("Quectel", 0), Line("BG96", 0), Line("Revision: BG96MAR02A07M1G", 0),
    Line("OK", 0), Payload("+QCOAPRECV: 0,1234,4.04,6,D204D52E814B,0,11", b"Not\r\nFound\xff", 0),
    Prompt(0), Line("OK", 0), Line("+QCOAPACK: 0,1,1234,0", 0),
]


def feed_in_chunks(chunks: list[bytes]) -> list[object]:
    parser = ATStreamParser()
    events: list[object] = []
    for chunk in chunks:
        events += parser.feed(chunk, 0)
    return events


def test_whole_stream() -> None:
    assert feed_in_chunks([STREAM]) == EXPECTED


def test_byte_by_byte() -> None:
    assert feed_in_chunks([bytes([b]) for b in STREAM]) == EXPECTED


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), unique=True, max_size=20))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    assert feed_in_chunks([STREAM[a:b] for a, b in zip(bounds, bounds[1:])]) == EXPECTED


def test_payload_that_looks_like_a_urc_is_payload() -> None:
    body = b"\r\n+QCOAPACK: 0,0,1,0\r\nOK\r\n"
    header = f"+QCOAPRECV: 0,1,2.05,0,,0,{len(body)}".encode()
    events = feed_in_chunks([header + b"\r\n" + body + b"\r\nOK\r\n"])
    assert events == [Payload(header.decode(), body, 0), Line("OK", 0)]


def test_zero_length_payload() -> None:
    events = feed_in_chunks([b"+QCOAPRECV: 0,1,2.05,0,,0,0\r\n\r\nOK\r\n"])
    assert events == [Payload("+QCOAPRECV: 0,1,2.05,0,,0,0", b"", 0), Line("OK", 0)]


def test_bare_cr_and_bare_lf_end_lines() -> None:
    assert feed_in_chunks([b"A\rB\nC\r\n"]) == [Line("A", 0), Line("B", 0), Line("C", 0)]


def test_prompt_without_space_and_a_line_starting_with_gt() -> None:
    events = feed_in_chunks([b"\r\n>"])
    assert events == [Prompt(0)]


def test_overlong_garbage_is_cut_not_hoarded() -> None:
    parser = ATStreamParser(max_line=100)
    events = parser.feed(b"x" * 1000, 0)
    assert len(events) == 9 and all(isinstance(e, Line) for e in events)
    assert len(parser.pending) <= 100


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    parser = ATStreamParser(max_line=512)
    parser.feed(data, 0)
    parser.feed(b"\r\nOK\r\n", 1)


# -- per-line framing, idle flush, payload time limit, reset (issue 14) ---------------------------
def test_the_lf_after_a_cr_belongs_to_that_line_even_when_it_comes_late() -> None:
    parser = ATStreamParser()
    assert parser.feed(b"\r\nOK\r", 1.0) == []
    (line,) = parser.feed(b"\n", 2.0)
    assert line == Line("OK", 1.0) and line.time == 1.0 and line.raw == b"\r\nOK\r\n"


def test_a_line_left_at_its_cr_is_complete_when_the_port_is_idle() -> None:
    parser = ATStreamParser()
    assert parser.feed(b"\r\nOK\r", 1.0) == []
    (line,) = parser.flush(1.5)
    assert line.text == "OK" and line.raw == b"\r\nOK\r"


def test_each_event_carries_its_own_bytes() -> None:
    stream = b"AT\r\r\n+X: 1\r\nA\r\n\r\n+CTZV: +04\r\n\r\nOK\r\n\r\n> "
    events = ATStreamParser().feed(stream, 0)
    assert [e.raw for e in events] == [b"AT\r", b"\r\n+X: 1\r\n", b"A\r\n", b"\r\n+CTZV: +04\r\n", b"\r\nOK\r\n",
                                       b"\r\n>"]


def test_a_payload_shorter_than_announced_is_given_up_at_its_time_limit() -> None:
    parser = ATStreamParser(payload_slack=1.0, byte_time=0.001)
    assert parser.feed(b"+QCOAPRECV: 0,1,2.05,0,,0,10\r\nabc\r\n", 5.0) == []
    assert parser.in_payload and parser.payload_deadline == 5.0 + 1.0 + 2 * 10 * 0.001
    assert parser.flush(5.5) == []  # within its limit: still coming
    (payload,) = parser.flush(6.1)
    assert payload.data == b"abc\r\n" and not payload.complete and payload.announced == 10
    assert parser.feed(b"\r\nOK\r\n", 6.2) == [Line("OK", 6.2)]


def test_reset_emits_a_cut_payload_and_starts_afresh() -> None:
    parser = ATStreamParser()
    parser.feed(b"+QCOAPRECV: 0,1,2.05,0,,0,10\r\nab", 0)
    (payload,) = parser.reset(1.0)
    assert payload.data == b"ab" and not payload.complete
    assert parser.feed(b"OK\r\n", 2.0) == [Line("OK", 2.0)] and parser.pending == b""
