"""The six QCOAP commands of chapter 3.3: forms, parameters, responses, maximum response times."""
from __future__ import annotations

from dataclasses import dataclass

from .model import Command, CommandForm, FormKind, IntRange, Parameter, ParamType

T, R, W, E = FormKind.TEST, FormKind.READ, FormKind.WRITE, FormKind.EXECUTION
INT, STR, HEX = ParamType.INTEGER, ParamType.STRING, ParamType.HEX

CLIENT_ID = Parameter("clientID", INT, IntRange(0, 5), description="CoAP client identifier")
PDP_CID = Parameter("PDP_cid", INT, IntRange(1, 16), default=1, description="PDP context ID")
DTLS_ENABLE = Parameter("DTLS_enable", INT, choices=(0, 1), description="0 UDP, 1 DTLS")
DTLS_CONTEXT_ID = Parameter("DTLS_contextID", INT, IntRange(0, 5), description="DTLS context")
TIMEOUT = Parameter("timeout", INT, IntRange(2, 60), default=2, description="ACK timeout, s")
RETRY_COUNT = Parameter("retry_count", INT, IntRange(4, 8), default=5, description="max retransmissions")
COAP_SERVER = Parameter("CoAP_server", STR, max_length=255, description="IP address or domain name")
PORT = Parameter("port", INT, IntRange(1, 65535), description="server port")
STATUS = Parameter("status", INT, IntRange(0, 4), description="client status")
MSG_ID = Parameter("msgID", INT, IntRange(0, 65535), description="message ID")
HEADER_MODE = Parameter("mode", INT, choices=(0, 1), description="1: generate the token")
TKL = Parameter("TKL", INT, IntRange(0, 8), description="token length, bytes")
TOKEN = Parameter("token", HEX, max_length=8, description="token, hex")
OPTION_MODE = Parameter("mode", INT, choices=(0, 1), description="0 add, 1 remove")
OPT_INDEX = Parameter("opt_index", INT, IntRange(0, 7), description="option index")
OPT_NUMBER = Parameter("opt_number", INT, description="option number (Table 2)")
OPT_VALUE = Parameter("opt_value", STR, description="option value (Table 2 format)")
MSG_TYPE = Parameter("type", INT, IntRange(0, 3), description="CON, NON, ACK, RST")
CODE_VALUE = Parameter("code_value", INT, description="code value (Table 3)")
OPT_BITMASK = Parameter("opt_bitmask", INT, IntRange(0, 255), description="options by index")
PAYLOAD_LENGTH = Parameter("payload_length", INT, IntRange(0, 1024), description="payload bytes")

#: <status> values of AT+QCOAPOPEN?
STATUS_VALUES: dict[int, str] = {
    0: "Idle state or connection disconnected",
    1: "CoAP client is opening",
    2: "CoAP client is connecting to the CoAP server",
    3: "CoAP client is connected",
    4: "CoAP connection is disconnecting",
}

#: <type> values of AT+QCOAPSEND and the URCs.
MESSAGE_TYPES: dict[int, str] = {0: "CON", 1: "NON", 2: "ACK", 3: "RST"}


@dataclass(frozen=True)
class CfgSetting:
    """One keyword form of AT+QCOAPCFG: its parameters after <clientID> and its query line."""

    keyword: str
    parameters: tuple[Parameter, ...]
    all_or_none: bool  # "trans" takes both optional parameters or neither

    def query(self, client: int) -> str:
        return f'AT+QCOAPCFG="{self.keyword}",{client}'

    def write(self, client: int, *values: int) -> str:
        return ",".join([self.query(client), *(str(v) for v in values)])


CFG_SETTINGS: tuple[CfgSetting, ...] = (
    CfgSetting("pdpcid", (PDP_CID,), all_or_none=True),
    CfgSetting("dtls", (DTLS_ENABLE, DTLS_CONTEXT_ID), all_or_none=False),
    CfgSetting("trans", (TIMEOUT, RETRY_COUNT), all_or_none=True),
)
CFG_BY_KEYWORD = {s.keyword: s for s in CFG_SETTINGS}

QCOAPCFG = Command(
    name="AT+QCOAPCFG",
    tag="CFG",
    section="3.3.1",
    title="Configure Optional Parameters of CoAP Client",
    forms=(
        CommandForm(T, "AT+QCOAPCFG=?", (
            '+QCOAPCFG: "pdpcid",(0-5),(1-16)',
            '+QCOAPCFG: "dtls",(0-5),(0,1),(0-5)',
            '+QCOAPCFG: "trans",(0-5),(2-60),(4-8)',
            "OK",
        )),
        CommandForm(R, "AT+QCOAPCFG?", ("ERROR",), documented=False),
        CommandForm(W, 'AT+QCOAPCFG="pdpcid",<clientID>[,<PDP_cid>]',
                    ('+QCOAPCFG: "pdpcid",<PDP_cid>', "OK", "ERROR")),
        CommandForm(W, 'AT+QCOAPCFG="dtls",<clientID>[,<DTLS_enable>[,<DTLS_contextID>]]',
                    ('+QCOAPCFG: "dtls",<DTLS_enable>[,<DTLS_contextID>]', "OK", "ERROR")),
        CommandForm(W, 'AT+QCOAPCFG="trans",<clientID>[,<timeout>,<retry_count>]',
                    ('+QCOAPCFG: "trans",<timeout>,<retry_count>', "OK", "ERROR")),
        CommandForm(E, "AT+QCOAPCFG", ("ERROR",), documented=False),
    ),
    parameters=(CLIENT_ID, PDP_CID, DTLS_ENABLE, DTLS_CONTEXT_ID, TIMEOUT, RETRY_COUNT),
    max_response_time=0.3,
    characteristics="The commands take effect immediately. The configurations are not saved.",
)

QCOAPOPEN = Command(
    name="AT+QCOAPOPEN",
    tag="OPEN",
    section="3.3.2",
    title="Create a CoAP Session",
    forms=(
        CommandForm(T, "AT+QCOAPOPEN=?", ("+QCOAPOPEN: (0-5),<CoAP_server>,(1-65535)", "OK")),
        CommandForm(R, "AT+QCOAPOPEN?",
                    ("[+QCOAPOPEN: <clientID>,<CoAP_server>,<port>,<status>]", "OK")),
        CommandForm(W, "AT+QCOAPOPEN=<clientID>,<CoAP_server>,<port>",
                    ("OK", "+QCOAPOPEN: <clientID>,<result>", "ERROR")),
        CommandForm(E, "AT+QCOAPOPEN", ("ERROR",), documented=False),
    ),
    parameters=(CLIENT_ID, COAP_SERVER, PORT, STATUS),
    max_response_time=75.0,
    max_response_note="75 s, determined by network",
)

QCOAPCLOSE = Command(
    name="AT+QCOAPCLOSE",
    tag="CLOSE",
    section="3.3.3",
    title="Disconnect from CoAP Server",
    forms=(
        CommandForm(T, "AT+QCOAPCLOSE=?", ("+QCOAPCLOSE: (0-5)", "OK")),
        CommandForm(R, "AT+QCOAPCLOSE?", ("ERROR",), documented=False),
        CommandForm(W, "AT+QCOAPCLOSE=<clientID>",
                    ("OK", "+QCOAPCLOSE: <clientID>,<result>", "ERROR")),
        CommandForm(E, "AT+QCOAPCLOSE", ("ERROR",), documented=False),
    ),
    parameters=(CLIENT_ID,),
    max_response_time=75.0,
    max_response_note="75 s, determined by network",
)

def write_only_forms(name: str, test: tuple[str, ...], write: str, write_responses: tuple[str, ...]) -> tuple[CommandForm, ...]:
    """The forms of a command the document gives as test and write only: its read and execution
    forms are undocumented (the suite records what the module answers to them)."""
    return (CommandForm(T, f"{name}=?", test),
            CommandForm(R, f"{name}?", ("ERROR",), documented=False),
            CommandForm(W, write, write_responses),
            CommandForm(E, name, ("ERROR",), documented=False))


QCOAPHEADER = Command(
    name="AT+QCOAPHEADER",
    tag="HDR",
    section="3.3.4",
    title="Configure CoAP Message Header",
    forms=write_only_forms("AT+QCOAPHEADER", ("+QCOAPHEADER: (0-5),(0-65535),(0,1),(0-8),<token>", "OK"),
                           "AT+QCOAPHEADER=<clientID>,<msgID>,<mode>[,<TKL>,<token>]", ("OK", "ERROR")),
    parameters=(CLIENT_ID, MSG_ID, HEADER_MODE, TKL, TOKEN),
    max_response_time=0.3,
)

QCOAPOPTION = Command(
    name="AT+QCOAPOPTION",
    tag="OPT",
    section="3.3.5",
    title="Configure CoAP Message Options",
    forms=write_only_forms("AT+QCOAPOPTION", ("+QCOAPOPTION: (0-5),(0,1),(0-7),<opt_number>,<opt_value>", "OK"),
                           "AT+QCOAPOPTION=<clientID>,<mode>,<opt_index>[,<opt_number>,<opt_value>]",
                           ("OK", "ERROR")),
    parameters=(CLIENT_ID, OPTION_MODE, OPT_INDEX, OPT_NUMBER, OPT_VALUE),
    max_response_time=0.3,
)

QCOAPSEND = Command(
    name="AT+QCOAPSEND",
    tag="SEND",
    section="3.3.6",
    title="Send CoAP Message",
    forms=write_only_forms("AT+QCOAPSEND", ("+QCOAPSEND: (0-5),(0-3),<code_value>,<opt_bitmask>,(0-1024)", "OK"),
                           "AT+QCOAPSEND=<clientID>,<type>,<code_value>,<opt_bitmask>[,<payload_length>]",
                           (">", "OK", "+QCOAPACK: <clientID>,<type>,<msgID>,<result>", "ERROR")),
    parameters=(CLIENT_ID, MSG_TYPE, CODE_VALUE, OPT_BITMASK, PAYLOAD_LENGTH),
    max_response_time=0.3,
)

COMMANDS: tuple[Command, ...] = (QCOAPCFG, QCOAPOPEN, QCOAPCLOSE, QCOAPHEADER, QCOAPOPTION, QCOAPSEND)
COMMANDS_BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}

#: Maximum payload of AT+QCOAPSEND without <payload_length> ("not exceeding 1024 bytes").
MAX_PAYLOAD = 1024
CTRL_Z = b"\x1a"
ESC = b"\x1b"
