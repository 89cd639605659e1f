"""Transition tables of the four transaction machines (RFC 3261 §17, RFC 6026).

Read each table as the figure it encodes: ``TABLES[kind][state][input]``
is ``(next state, actions in order)``. Figure numbers refer to RFC 3261;
*Accepted* and timers L and M come from RFC 6026 §7 and §8. Entering a
state starts the timers in ``STATE_TIMERS[kind][state]`` and stops every
other timer, which is why no action says "start timer" or "cancel timer".
"""

from __future__ import annotations

from enum import Enum, auto

from .events import TimerName

__all__ = ["STATE_TIMERS", "TABLES", "Action", "Input", "TransactionKind", "TransactionState"]

# _IDENTITY_HASH: the tables below are dictionaries keyed by these members,
# read several times per message. Enum's own __hash__ is Python code
# (hash of the name); a member is a singleton compared by identity, so the
# identity hash (C, no call) is just as correct and half the cost.


class TransactionKind(Enum):
    """The four machines of RFC 3261 §17."""

    INVITE_CLIENT = auto()
    NON_INVITE_CLIENT = auto()
    INVITE_SERVER = auto()
    NON_INVITE_SERVER = auto()

    __hash__ = object.__hash__  # see _IDENTITY_HASH


class TransactionState(Enum):
    """States across all four machines."""

    CALLING = auto()
    TRYING = auto()
    PROCEEDING = auto()
    COMPLETED = auto()
    CONFIRMED = auto()
    ACCEPTED = auto()
    TERMINATED = auto()

    __hash__ = object.__hash__  # see _IDENTITY_HASH


class Input(Enum):
    """What can happen to a transaction."""

    RECEIVED_1XX = auto()
    RECEIVED_2XX = auto()
    RECEIVED_FINAL = auto()  # 300-699
    RECEIVED_REQUEST = auto()  # a retransmission of the original request
    RECEIVED_ACK = auto()
    SEND_1XX = auto()
    SEND_2XX = auto()
    SEND_FINAL = auto()  # 300-699
    TRANSPORT_ERROR = auto()
    TIMER_A = auto()
    TIMER_B = auto()
    TIMER_D = auto()
    TIMER_E = auto()
    TIMER_F = auto()
    TIMER_G = auto()
    TIMER_H = auto()
    TIMER_I = auto()
    TIMER_J = auto()
    TIMER_K = auto()
    TIMER_L = auto()
    TIMER_M = auto()

    __hash__ = object.__hash__  # see _IDENTITY_HASH


class Action(Enum):
    """What a transition does, in table order."""

    PASS_TO_USER = auto()
    SEND_RESPONSE = auto()
    RESEND_RESPONSE = auto()
    RESEND_REQUEST = auto()
    SEND_ACK = auto()
    REARM_BACKOFF = auto()  # double the interval (capped at T2 except timer A)
    REARM_T2 = auto()  # §17.1.2.2: in Proceeding, timer E restarts at T2
    REPORT_TIMEOUT = auto()
    REPORT_TRANSPORT_ERROR = auto()

    __hash__ = object.__hash__  # see _IDENTITY_HASH


S = TransactionState
I = Input  # noqa: E741
A = Action
Transition = tuple[TransactionState, tuple[Action, ...]]
Table = dict[TransactionState, dict[Input, Transition]]

_FAIL: dict[Input, Transition] = {I.TRANSPORT_ERROR: (S.TERMINATED, (A.REPORT_TRANSPORT_ERROR,))}
_PASS = (A.PASS_TO_USER,)

# Figure 5 + RFC 6026 figure 3.
INVITE_CLIENT: Table = {
    S.CALLING: {
        I.TIMER_A: (S.CALLING, (A.RESEND_REQUEST, A.REARM_BACKOFF)),
        I.TIMER_B: (S.TERMINATED, (A.REPORT_TIMEOUT,)),
        I.RECEIVED_1XX: (S.PROCEEDING, _PASS),
        I.RECEIVED_2XX: (S.ACCEPTED, _PASS),
        I.RECEIVED_FINAL: (S.COMPLETED, (A.PASS_TO_USER, A.SEND_ACK)),
        **_FAIL,
    },
    S.PROCEEDING: {
        I.RECEIVED_1XX: (S.PROCEEDING, _PASS),
        I.RECEIVED_2XX: (S.ACCEPTED, _PASS),
        I.RECEIVED_FINAL: (S.COMPLETED, (A.PASS_TO_USER, A.SEND_ACK)),
        **_FAIL,
    },
    S.COMPLETED: {
        I.RECEIVED_FINAL: (S.COMPLETED, (A.SEND_ACK,)),
        I.TIMER_D: (S.TERMINATED, ()),
        **_FAIL,
    },
    S.ACCEPTED: {
        I.RECEIVED_2XX: (S.ACCEPTED, _PASS),
        I.TIMER_M: (S.TERMINATED, ()),
    },
}

# Figure 6.
NON_INVITE_CLIENT: Table = {
    S.TRYING: {
        I.TIMER_E: (S.TRYING, (A.RESEND_REQUEST, A.REARM_BACKOFF)),
        I.TIMER_F: (S.TERMINATED, (A.REPORT_TIMEOUT,)),
        I.RECEIVED_1XX: (S.PROCEEDING, _PASS),
        I.RECEIVED_2XX: (S.COMPLETED, _PASS),
        I.RECEIVED_FINAL: (S.COMPLETED, _PASS),
        **_FAIL,
    },
    S.PROCEEDING: {
        I.TIMER_E: (S.PROCEEDING, (A.RESEND_REQUEST, A.REARM_T2)),
        I.TIMER_F: (S.TERMINATED, (A.REPORT_TIMEOUT,)),
        I.RECEIVED_1XX: (S.PROCEEDING, _PASS),
        I.RECEIVED_2XX: (S.COMPLETED, _PASS),
        I.RECEIVED_FINAL: (S.COMPLETED, _PASS),
        **_FAIL,
    },
    S.COMPLETED: {
        I.TIMER_K: (S.TERMINATED, ()),
    },
}

# Figure 7 + RFC 6026 figure 5.
INVITE_SERVER: Table = {
    S.PROCEEDING: {
        I.RECEIVED_REQUEST: (S.PROCEEDING, (A.RESEND_RESPONSE,)),
        I.SEND_1XX: (S.PROCEEDING, (A.SEND_RESPONSE,)),
        I.SEND_2XX: (S.ACCEPTED, (A.SEND_RESPONSE,)),
        I.SEND_FINAL: (S.COMPLETED, (A.SEND_RESPONSE,)),
        **_FAIL,
    },
    S.COMPLETED: {
        I.RECEIVED_REQUEST: (S.COMPLETED, (A.RESEND_RESPONSE,)),
        I.TIMER_G: (S.COMPLETED, (A.RESEND_RESPONSE, A.REARM_BACKOFF)),
        I.TIMER_H: (S.TERMINATED, (A.REPORT_TIMEOUT,)),
        I.RECEIVED_ACK: (S.CONFIRMED, ()),
        **_FAIL,
    },
    S.CONFIRMED: {
        I.TIMER_I: (S.TERMINATED, ()),
    },
    S.ACCEPTED: {
        I.SEND_2XX: (S.ACCEPTED, (A.SEND_RESPONSE,)),
        I.RECEIVED_ACK: (S.ACCEPTED, _PASS),  # RFC 6026 §7.1: ACKs reach the TU
        I.TIMER_L: (S.TERMINATED, ()),
    },
}

# Figure 8.
NON_INVITE_SERVER: Table = {
    S.TRYING: {
        I.SEND_1XX: (S.PROCEEDING, (A.SEND_RESPONSE,)),
        I.SEND_2XX: (S.COMPLETED, (A.SEND_RESPONSE,)),
        I.SEND_FINAL: (S.COMPLETED, (A.SEND_RESPONSE,)),
        **_FAIL,
    },
    S.PROCEEDING: {
        I.RECEIVED_REQUEST: (S.PROCEEDING, (A.RESEND_RESPONSE,)),
        I.SEND_1XX: (S.PROCEEDING, (A.SEND_RESPONSE,)),
        I.SEND_2XX: (S.COMPLETED, (A.SEND_RESPONSE,)),
        I.SEND_FINAL: (S.COMPLETED, (A.SEND_RESPONSE,)),
        **_FAIL,
    },
    S.COMPLETED: {
        I.RECEIVED_REQUEST: (S.COMPLETED, (A.RESEND_RESPONSE,)),
        I.TIMER_J: (S.TERMINATED, ()),
        **_FAIL,
    },
}

TABLES: dict[TransactionKind, Table] = {
    TransactionKind.INVITE_CLIENT: INVITE_CLIENT,
    TransactionKind.NON_INVITE_CLIENT: NON_INVITE_CLIENT,
    TransactionKind.INVITE_SERVER: INVITE_SERVER,
    TransactionKind.NON_INVITE_SERVER: NON_INVITE_SERVER,
}

T = TimerName
STATE_TIMERS: dict[TransactionKind, dict[TransactionState, tuple[TimerName, ...]]] = {
    TransactionKind.INVITE_CLIENT: {
        S.CALLING: (T.A, T.B),
        S.COMPLETED: (T.D,),
        S.ACCEPTED: (T.M,),
    },
    TransactionKind.NON_INVITE_CLIENT: {
        S.TRYING: (T.E, T.F),
        S.PROCEEDING: (T.E, T.F),
        S.COMPLETED: (T.K,),
    },
    TransactionKind.INVITE_SERVER: {
        S.COMPLETED: (T.G, T.H),
        S.CONFIRMED: (T.I,),
        S.ACCEPTED: (T.L,),
    },
    TransactionKind.NON_INVITE_SERVER: {
        S.COMPLETED: (T.J,),
    },
}
