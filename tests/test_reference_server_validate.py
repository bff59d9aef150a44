"""Every rule of the strict RFC 7252 validator, one well-formed and one broken case each."""

import pytest

from reference_server.records import decode_view, parse_dtls_records, walk_options
from reference_server.testing import request_bytes
from reference_server.validate import violations

GOOD = request_bytes(0, 1, 0x1234, b"\x01\x02", "19", b"hi")


def has(raw: bytes, text: str) -> bool:
    return any(text in v for v in violations(raw))


def test_well_formed_request_has_no_violations():
    assert violations(GOOD) == []
    assert violations(bytes([0x60, 0, 0, 1])) == []  # empty ACK
    assert violations(bytes([0x70, 0, 0, 1])) == []  # RST
    assert violations(bytes([0x40, 0, 0, 1])) == []  # CoAP ping


@pytest.mark.parametrize("n", range(4))
def test_truncated_header(n):
    assert has(GOOD[:n], "truncated header")


@pytest.mark.parametrize("version", [0, 2, 3])
def test_version(version):
    raw = bytes([(GOOD[0] & 0x3F) | (version << 6)]) + GOOD[1:]
    assert has(raw, f"version {version}")


@pytest.mark.parametrize("tkl", range(9, 16))
def test_reserved_tkl(tkl):
    assert has(bytes([0x40 | tkl, 1, 0, 1]) + b"x" * 16, f"TKL {tkl}")


def test_token_shorter_than_tkl():
    assert has(bytes([0x48, 1, 0, 1]) + b"abc", "token shorter than TKL")


def test_option_delta_15():
    assert has(bytes([0x40, 1, 0, 1, 0xF1, 0x00]), "option delta 15")


def test_option_length_15():
    assert has(bytes([0x40, 1, 0, 1, 0xBF, 0x00]), "option length 15")


def test_truncated_extended_and_value():
    assert has(bytes([0x40, 1, 0, 1, 0xD0]), "truncated option")  # extended delta missing
    assert has(bytes([0x40, 1, 0, 1, 0x0E, 0x01]), "truncated option")  # extended length short
    assert has(bytes([0x40, 1, 0, 1, 0xB5, 0x31]), "truncated option")  # value short


def test_extended_forms_are_accepted():
    long_path = b"p" * 200  # 13-form length
    raw = request_bytes(path=long_path.decode(), options=[(2000, b"x" * 300)])  # 14-form delta and length
    assert violations(raw) == []
    opts, _ = walk_options(raw, 4)
    assert opts == [(11, long_path), (2000, b"x" * 300)]


def test_payload_marker_without_payload():
    assert has(GOOD[: GOOD.index(b"\xff") + 1], "payload marker with no payload")


@pytest.mark.parametrize("cls", [1, 6, 7])
def test_reserved_code_class(cls):
    assert has(bytes([0x40, cls << 5 | 1, 0, 1]), f"reserved code class {cls}")


def test_empty_message_with_token_options_or_payload():
    assert has(bytes([0x61, 0, 0, 1, 0xAA]), "Empty message (0.00) with a token")
    assert has(bytes([0x60, 0, 0, 1, 0xFF, 0x41]), "with options or payload")
    assert has(bytes([0x40, 0, 0, 1, 0xB1, 0x31]), "with options or payload")


def test_request_code_on_ack_and_non_empty_rst():
    assert has(bytes([0x60, 0x01, 0, 1]), "request code 0.01 on an ACK")
    assert violations(bytes([0x60, 0x45, 0, 1])) == []  # piggybacked 2.05 is fine
    assert has(bytes([0x70, 0x45, 0, 1]), "RST must be empty")


def test_repeated_non_repeatable_option():
    raw = request_bytes(options=[(12, b""), (12, b"\x32")])
    assert has(raw, "non-repeatable option 12 (Content-Format) repeated")
    repeatable = request_bytes(path="a/b/c", options=[(15, b"x=1"), (15, b"y=2"), (4, b"e1"), (4, b"e2")])
    assert violations(repeatable) == []


def test_uint_not_minimally_encoded():
    assert has(request_bytes(options=[(12, b"\x00\x32")]), "not minimally encoded")
    assert violations(request_bytes(options=[(12, b"\x32")])) == []


@pytest.mark.parametrize(
    "number,value",
    [(3, b""), (4, b""), (4, b"123456789"), (5, b"x"), (7, b"abc"), (12, b"abc"), (14, b"12345"), (35, b"")],
)
def test_option_length_outside_table_4(number, value):
    assert has(request_bytes(options=[(number, value)]), "outside")


def test_unknown_options_are_not_judged():
    assert violations(request_bytes(options=[(65000, b"\x00" * 20), (65000, b"")])) == []


def test_decode_view_keeps_wire_order_and_fields():
    view = decode_view(GOOD)
    assert view is not None
    assert (view.mtype, view.code, view.code_text, view.mid, view.token) == (0, 1, "0.01", 0x1234, b"\x01\x02")
    assert view.options == [(11, b"19")] and view.payload == b"hi" and view.uri_path == "19"
    assert decode_view(b"\x00") is None


def test_dtls_record_split():
    rec = bytes([22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 1, 2])
    alert = bytes([21, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 2, 80])
    records = parse_dtls_records(rec + alert + b"\x17\xfe")
    assert [(r.content_type, r.version, r.epoch, r.sequence, r.length) for r in records] == [
        (22, 0xFEFD, 0, 5, 2),
        (21, 0xFEFD, 1, 256, 2),
    ]
