"""The BG96 CoAP Application Note as data: one place for every command, table and requirement."""
from .commands import (CFG_BY_KEYWORD, CFG_SETTINGS, COMMANDS, COMMANDS_BY_NAME, MESSAGE_TYPES,
                       QCOAPCFG, QCOAPCLOSE, QCOAPHEADER, QCOAPOPEN, QCOAPOPTION, QCOAPSEND,
                       STATUS_VALUES, CfgSetting)
from .errata import ERRATA, ERRATA_BY_ID
from .model import (CodeDef, Command, CommandForm, Erratum, FormKind, IntRange, OptionDef,
                    OptionFormat, Parameter, ParamType, Requirement, ResultCode, UrcFormat, Verdict)
from .requirements import REQUIREMENTS, REQUIREMENTS_BY_ID
from .tables import (ACK_RANDOM_FACTOR, BITMASK_ROWS, CODES, CODES_BY_VALUE, OPTIONS, OPTIONS_BY_NUMBER,
                     REQUEST_CODES, RESPONSE_CODES, RESULT_CODES, RESULTS_BY_CODE,
                     bitmask_indexes, code_text, max_transmit_wait)
from .urcs import QCOAPACK, QCOAPCLOSE_RESULT, QCOAPIND, QCOAPOPEN_RESULT, QCOAPRECV, URCS

__all__ = [n for n in dir() if not n.startswith("_")]
