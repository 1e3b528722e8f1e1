"""RFC 9260 §3.2: a chunk's Length counts the padding of every parameter but the last.

"The Chunk Length value does not include terminating padding of the chunk. However, it
does include padding of any variable-length parameter except the last parameter in the
chunk." Every chunk that carries TLVs (INIT, INIT ACK, HEARTBEAT, HEARTBEAT ACK, ABORT,
ERROR, RE-CONFIG) is checked here with a last TLV that needs padding; the decoder takes
both that form and the one that counts the last padding too (senders of both exist).
"""

from __future__ import annotations

import pytest

from sctpx.wire import (
    AbortChunk,
    Chunk,
    ErrorChunk,
    HeartbeatAckChunk,
    HeartbeatChunk,
    IncomingSsnResetRequestParam,
    InitAckChunk,
    InitChunk,
    OutgoingSsnResetRequestParam,
    Packet,
    ReconfigChunk,
    ReconfigResponseParam,
    StateCookieParam,
    SupportedAddressTypesParam,
    UserInitiatedAbort,
    decode_packet,
    encode_chunk,
    encode_packet,
)


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


def length(raw: bytes) -> int:
    return int.from_bytes(raw[2:4], "big")


OUT_1 = OutgoingSsnResetRequestParam(1, 0, 7, (1,))  # RFC 6525 §4.1: 16 + 2 = 18 bytes
IN_1 = IncomingSsnResetRequestParam(2, (3,))  # §4.2: 8 + 2 = 10 bytes

# (chunk, its Chunk Length): each ends with a TLV whose length is not a multiple of 4
CASES: list[tuple[Chunk, int]] = [
    # an Outgoing SSN Reset Request for one stream alone
    (ReconfigChunk((OUT_1,)), 4 + 18),
    # ... in front of an Incoming SSN Reset Request: its padding counts, the last one's not
    (ReconfigChunk((OUT_1, IN_1)), 4 + 20 + 10),
    # the other order, the first unpadded
    (ReconfigChunk((IncomingSsnResetRequestParam(2, (3, 4)), OUT_1)), 4 + 12 + 18),
    (ReconfigChunk((ReconfigResponseParam(5, 1),)), 4 + 12),  # no padding anywhere
    (InitChunk(1, 2, 3, 4, 5, (SupportedAddressTypesParam((5,)),)), 4 + 16 + 6),
    (InitAckChunk(1, 2, 3, 4, 5, (StateCookieParam(b"abc"),)), 4 + 16 + 7),
    (HeartbeatChunk(b"12345"), 4 + 9),
    (HeartbeatAckChunk(b"1"), 4 + 5),
    (AbortChunk((UserInitiatedAbort(b"x"),)), 4 + 5),
    (ErrorChunk((UserInitiatedAbort(b"xy"), UserInitiatedAbort(b"z"))), 4 + 8 + 5),
]


@pytest.mark.parametrize(("chunk", "want"), CASES, ids=lambda x: type(x).__name__)
def test_chunk_length_leaves_out_the_last_tlvs_padding(chunk: Chunk, want: int) -> None:
    raw = encode_chunk(chunk)
    assert length(raw) == want
    assert len(raw) == (want + 3) & ~3  # the chunk's own padding follows
    assert raw[want:] == bytes(len(raw) - want)
    assert decode_packet(encode_packet(Packet(1, 2, 3, [chunk]))).chunks == [chunk]


def test_reconfig_single_stream_bytes() -> None:
    # RFC 6525 §3.1 + §4.1: type 130, flags 0, length 22 (0x16); the parameter's 2 bytes
    # of padding are the chunk's own
    raw = encode_chunk(ReconfigChunk((OutgoingSsnResetRequestParam(1, 2, 3, (9,)),)))
    assert raw == h("82 00 0016 | 000d 0012 00000001 00000002 00000003 0009 | 0000")


@pytest.mark.parametrize(("chunk", "want"), CASES, ids=lambda x: type(x).__name__)
def test_decoder_also_takes_a_length_that_counts_the_last_padding(chunk: Chunk, want: int) -> None:
    raw = encode_chunk(chunk)
    padded = (want + 3) & ~3
    longer = raw[:2] + padded.to_bytes(2, "big") + raw[4:]  # what sctpx sent before
    data = encode_packet(Packet(1, 2, 3, []))[:12] + longer
    assert decode_packet(data, verify_checksum=False).chunks == [chunk]
