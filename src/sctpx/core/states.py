"""Association states and every allowed transition, in one table (RFC 9260 §4)."""

from __future__ import annotations

import enum


class State(enum.Enum):
    CLOSED = "CLOSED"
    COOKIE_WAIT = "COOKIE_WAIT"
    COOKIE_ECHOED = "COOKIE_ECHOED"
    ESTABLISHED = "ESTABLISHED"
    SHUTDOWN_PENDING = "SHUTDOWN_PENDING"
    SHUTDOWN_SENT = "SHUTDOWN_SENT"
    SHUTDOWN_RECEIVED = "SHUTDOWN_RECEIVED"
    SHUTDOWN_ACK_SENT = "SHUTDOWN_ACK_SENT"

    # Members are singletons compared by identity; hashing them by identity too keeps the
    # state-set tests on the data path (``state in UP_STATES``) in C, not in Enum.__hash__.
    __hash__ = object.__hash__


S = State

# (from, to): the event that takes the association there (RFC 9260 §4, Figure 3).
# Every state may also go to CLOSED (ABORT sent or received, too many retransmissions).
TRANSITIONS: dict[tuple[State, State], str] = {
    (S.CLOSED, S.COOKIE_WAIT): "connectx: INIT sent, T1-init started (§5.1 A)",
    (S.CLOSED, S.ESTABLISHED): "valid COOKIE ECHO: TCB built, COOKIE ACK sent (§5.1 D)",
    (S.COOKIE_WAIT, S.COOKIE_ECHOED): "INIT ACK: COOKIE ECHO sent, T1-cookie started (§5.1 C)",
    (S.COOKIE_WAIT, S.ESTABLISHED): "COOKIE ECHO of a collision, case B (§5.2.4)",
    (S.COOKIE_ECHOED, S.ESTABLISHED): "COOKIE ACK, or COOKIE ECHO case B/D (§5.1 E, §5.2.4)",
    (S.COOKIE_ECHOED, S.COOKIE_WAIT): "Stale Cookie error: new INIT with preservative (§5.2.6)",
    (S.ESTABLISHED, S.ESTABLISHED): "COOKIE ECHO case A: peer restart (§5.2.4)",
    (S.SHUTDOWN_PENDING, S.ESTABLISHED): "COOKIE ECHO case A: peer restart (§5.2.4)",
    (S.SHUTDOWN_SENT, S.ESTABLISHED): "COOKIE ECHO case A: peer restart (§5.2.4)",
    (S.SHUTDOWN_RECEIVED, S.ESTABLISHED): "COOKIE ECHO case A: peer restart (§5.2.4)",
    (S.ESTABLISHED, S.SHUTDOWN_PENDING): "user shutdown (§9.2)",
    (S.ESTABLISHED, S.SHUTDOWN_RECEIVED): "SHUTDOWN received (§9.2)",
    (S.SHUTDOWN_PENDING, S.SHUTDOWN_SENT): "no outstanding data: SHUTDOWN sent (§9.2)",
    (S.SHUTDOWN_PENDING, S.SHUTDOWN_RECEIVED): "SHUTDOWN received while pending (§9.2)",
    (S.SHUTDOWN_RECEIVED, S.SHUTDOWN_ACK_SENT): "no outstanding data: SHUTDOWN ACK sent (§9.2)",
    (S.SHUTDOWN_SENT, S.SHUTDOWN_ACK_SENT): "SHUTDOWN received: SHUTDOWN ACK sent (§9.2)",
}

# States in which the association carries user data and heartbeats (§6, §8.3).
UP_STATES = frozenset(
    {S.ESTABLISHED, S.SHUTDOWN_PENDING, S.SHUTDOWN_SENT, S.SHUTDOWN_RECEIVED, S.SHUTDOWN_ACK_SENT}
)
SETUP_STATES = frozenset({S.COOKIE_WAIT, S.COOKIE_ECHOED})
# §6, §9.2: DATA is accepted from the peer until it has sent SHUTDOWN ...
DATA_IN_STATES = frozenset({S.ESTABLISHED, S.SHUTDOWN_PENDING, S.SHUTDOWN_SENT})
# ... and sent to it until we have sent SHUTDOWN (what is queued drains first).
DATA_OUT_STATES = frozenset({S.ESTABLISHED, S.SHUTDOWN_PENDING, S.SHUTDOWN_RECEIVED})
# §9.2: the user may queue no more messages once a shutdown has begun.
SHUTDOWN_STATES = frozenset(
    {S.SHUTDOWN_PENDING, S.SHUTDOWN_SENT, S.SHUTDOWN_RECEIVED, S.SHUTDOWN_ACK_SENT}
)


def check_transition(old: State, new: State) -> None:
    """Raise AssertionError for a transition the table does not allow (a bug of ours)."""
    if new is not S.CLOSED and (old, new) not in TRANSITIONS:
        raise AssertionError(f"no transition {old.value} -> {new.value}")
