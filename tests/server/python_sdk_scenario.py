"""Scenario run by the official Iggy Python SDK (PyPI apache-iggy 0.9.0) against Tributary's
embedded server. Usage: python python_sdk_scenario.py HOST:PORT USERNAME PASSWORD

Prints one line per check ("ok <name>") and exits 1 at the first failure ("FAIL <name>: ...").
Run by tests/server/python_sdk_test.cpp.
"""

import asyncio
import gc
import struct
import sys
import traceback
from datetime import timedelta

from apache_iggy import (
    AutoCommit,
    AutoLogin,
    Consumer,
    Durability,
    HeaderKey,
    HeaderValue,
    IggyClient,
    Partitioning,
    PollingStrategy,
    SendMessage,
    TcpConfig,
)

ADDRESS, USERNAME, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
STREAM = "py-stream"
TOPIC = "events"
PARTITIONS = 3
TOTAL = 10_000
BATCH = 500


class CheckFailed(Exception):
    pass


def check(name, cond, detail=""):
    if not cond:
        raise CheckFailed(f"{name}: {detail}")
    print(f"ok {name}", flush=True)


def client(auto_login=None):
    return IggyClient(
        TcpConfig(
            server_address=ADDRESS,
            auto_login=auto_login or AutoLogin.username_password(USERNAME, PASSWORD),
        )
    )


def headers_for(i):
    return {
        HeaderKey.String("seq"): HeaderValue.UnsignedInt64(i),
        HeaderKey.String("kind"): HeaderValue.String("even" if i % 2 == 0 else "odd"),
        HeaderKey.String("flag"): HeaderValue.Bool(i % 3 == 0),
        HeaderKey.String("neg"): HeaderValue.Int32(-i),
        HeaderKey.String("raw"): HeaderValue.Raw(struct.pack("<I", i)),
        HeaderKey.String("ratio"): HeaderValue.Float64(i / 7.0),
    }


def payload_for(i):
    return f"message-{i:05d}".encode() + b"\x00\xff" * (i % 5)


def ident(msg):
    """The sequence number a message carries in its headers."""
    h = msg.user_headers()
    return h[HeaderKey.String("seq")].value


def binary_consumer(name: str) -> bytes:
    raw = name.encode()
    return bytes([1, 2, len(raw)]) + raw  # Consumer kind 1, Identifier string


def ident_bytes(name: str) -> bytes:
    raw = name.encode()
    return bytes([2, len(raw)]) + raw


async def main():
    root = client()
    await root.connect()
    await root.ping()
    check("login and ping", True)

    stats = await root.get_stats()
    check("get_stats", stats.process_id > 0 and stats.total_memory > 0, repr(stats))

    if await root.get_stream(STREAM) is not None:
        await root.delete_stream(STREAM)
    await root.create_stream(STREAM)
    stream = await root.get_stream(STREAM)
    check("create_stream/get_stream", stream is not None and stream.name == STREAM)
    try:
        await root.create_stream(STREAM)
        check("duplicate stream rejected", False, "no error")
    except RuntimeError as e:
        check("duplicate stream rejected", "already exists" in str(e), str(e))

    await root.create_topic(
        STREAM,
        TOPIC,
        PARTITIONS,
        compression_algorithm="none",
        message_expiry=None,
        durability=Durability.PERSISTED,
    )
    topic = await root.get_topic(STREAM, TOPIC)
    check("create_topic", topic is not None and topic.partitions_count == PARTITIONS, repr(topic))
    opts = {**topic.options.to_scalar_dict(), **topic.derived_options.to_scalar_dict()}
    check("durability reported", opts.get("durability") == "persisted", repr(opts))
    check(
        "consumer_offset_durability reported",
        opts.get("consumer_offset_durability") == "replicated",
        repr(opts),
    )

    # ---- send 10,000 messages with user headers, balanced over the partitions ----
    sent_ids = {}
    for start in range(0, TOTAL, BATCH):
        msgs = [
            SendMessage(payload_for(i), user_headers=headers_for(i), id=i + 1)
            for i in range(start, start + BATCH)
        ]
        resp = await root.send_messages(STREAM, TOPIC, Partitioning.balanced(), msgs)
        for c in resp.confirmations:
            sent_ids.setdefault(c.partition_id, []).append(c.base_offset)
    topic = await root.get_topic(STREAM, TOPIC)
    check("send 10000", topic.messages_count == TOTAL, f"messages_count={topic.messages_count}")
    per_part = {p.id: p.messages_count for p in topic.partitions}
    check("balanced over partitions", sorted(per_part.values()) == [3000, 3500, 3500], repr(per_part))

    # ---- poll by offset: every message, payload and headers byte for byte ----
    seen = {}
    reader = Consumer.Single("py-reader")
    for p in range(PARTITIONS):
        offset = 0
        while True:
            got = await root.poll_messages(
                STREAM,
                TOPIC,
                consumer=reader,
                polling_strategy=PollingStrategy.Offset(offset),
                count=700,
                auto_commit=False,
                partition_id=p,
            )
            if not got:
                break
            for m in got:
                if m.offset() != offset:
                    raise CheckFailed(f"offsets: partition {p} expected {offset} got {m.offset()}")
                i = ident(m)
                if m.payload() != payload_for(i):
                    raise CheckFailed(f"payload of message {i}")
                if m.id() != i + 1:
                    raise CheckFailed(f"id of message {i}: {m.id()}")
                if dict(m.user_headers()) != headers_for(i):
                    raise CheckFailed(f"headers of message {i}: {dict(m.user_headers())}")
                if m.partition_id() != p:
                    raise CheckFailed(f"partition id of message {i}: {m.partition_id()}")
                seen[i] = (p, m.offset())
                offset += 1
    check("poll by offset: all 10000, payloads, ids and headers", len(seen) == TOTAL, len(seen))

    first = await root.poll_messages(
        STREAM, TOPIC, consumer=reader, polling_strategy=PollingStrategy.First(),
        count=5, auto_commit=False, partition_id=1,
    )
    check("poll first", [m.offset() for m in first] == [0, 1, 2, 3, 4], [m.offset() for m in first])
    last = await root.poll_messages(
        STREAM, TOPIC, consumer=reader, polling_strategy=PollingStrategy.Last(),
        count=3, auto_commit=False, partition_id=1,
    )
    n1 = per_part[1]
    check("poll last", [m.offset() for m in last] == [n1 - 3, n1 - 2, n1 - 1], [m.offset() for m in last])

    nxt = Consumer.Single("py-next")
    a = await root.poll_messages(
        STREAM, TOPIC, consumer=nxt, polling_strategy=PollingStrategy.Next(),
        count=10, auto_commit=True, partition_id=2,
    )
    b = await root.poll_messages(
        STREAM, TOPIC, consumer=nxt, polling_strategy=PollingStrategy.Next(),
        count=10, auto_commit=True, partition_id=2,
    )
    check(
        "poll next with auto-commit",
        [m.offset() for m in a] == list(range(10)) and [m.offset() for m in b] == list(range(10, 20)),
        f"{[m.offset() for m in a]} {[m.offset() for m in b]}",
    )
    ts = await root.poll_messages(
        STREAM, TOPIC, consumer=reader, polling_strategy=PollingStrategy.Timestamp(0),
        count=4, auto_commit=False, partition_id=0,
    )
    check("poll timestamp", [m.offset() for m in ts] == [0, 1, 2, 3], [m.offset() for m in ts])

    # ---- consumer offsets: store, get, delete (raw codes 121, 120, 122) ----
    part = struct.pack("<BI", 1, 1)
    store = binary_consumer("py-offsets") + ident_bytes(STREAM) + ident_bytes(TOPIC) + part
    await root.send_binary_request(121, store + struct.pack("<QB", 41, 1))
    raw = await root.send_binary_request(120, store)
    pid, current, stored = struct.unpack("<IQQ", raw)
    check("store/get consumer offset", (pid, current, stored) == (1, n1 - 1, 41), (pid, current, stored))
    resumed = await root.poll_messages(
        STREAM, TOPIC, consumer=Consumer.Single("py-offsets"), polling_strategy=PollingStrategy.Next(),
        count=2, auto_commit=False, partition_id=1,
    )
    check("poll next after stored offset", [m.offset() for m in resumed] == [42, 43], [m.offset() for m in resumed])
    await root.send_binary_request(122, store + b"\x01")
    raw = await root.send_binary_request(120, store)
    check("delete consumer offset", raw == b"", raw)

    # ---- a consumer group with two members ----
    await root.create_consumer_group(STREAM, TOPIC, "py-workers")
    m1, m2 = client(), client()
    await m1.connect()
    await m2.connect()
    c1 = await m1.consumer_group(
        "py-workers", STREAM, TOPIC, polling_strategy=PollingStrategy.Next(), batch_length=500,
        auto_commit=AutoCommit.When(__import__("apache_iggy").AutoCommitWhen.PollingMessages()),
        create_consumer_group_if_not_exists=False, poll_interval=timedelta(milliseconds=5),
    )
    c2 = await m2.consumer_group(
        "py-workers", STREAM, TOPIC, polling_strategy=PollingStrategy.Next(), batch_length=500,
        auto_commit=AutoCommit.When(__import__("apache_iggy").AutoCommitWhen.PollingMessages()),
        create_consumer_group_if_not_exists=False, poll_interval=timedelta(milliseconds=5),
    )
    group = await root.get_consumer_group(STREAM, TOPIC, "py-workers")
    assigned = sorted(sorted(m.partitions) for m in group.members)
    check("group members and assignment", group.members_count == 2 and assigned in ([[0], [1, 2]], [[0, 1], [2]]), repr(assigned))

    got_by = {1: {}, 2: {}}

    async def consume(c, key):
        async def on_message(m):
            got_by[key][ident(m)] = m.partition_id()
            if len(got_by[1]) + len(got_by[2]) >= TOTAL:
                done.set()
        await c.consume_messages(on_message, done)

    done = asyncio.Event()
    t1 = asyncio.create_task(consume(c1, 1))
    t2 = asyncio.create_task(consume(c2, 2))
    try:
        await asyncio.wait_for(done.wait(), timeout=120)
    except asyncio.TimeoutError:
        pass
    done.set()
    await asyncio.gather(t1, t2, return_exceptions=True)
    union = set(got_by[1]) | set(got_by[2])
    check("group consumed every message once", len(union) == TOTAL and not (set(got_by[1]) & set(got_by[2])),
          f"{len(got_by[1])} + {len(got_by[2])} = {len(union)}")
    parts1, parts2 = set(got_by[1].values()), set(got_by[2].values())
    check("members read disjoint partitions", parts1 and parts2 and not (parts1 & parts2), f"{parts1} {parts2}")

    # The group's offsets after auto-commit: the last offset of each partition.
    for p in range(PARTITIONS):
        gstore = bytes([2, 2, len("py-workers")]) + b"py-workers" + ident_bytes(STREAM) + ident_bytes(TOPIC)
        raw = await root.send_binary_request(120, gstore + struct.pack("<BI", 1, p))
        _, cur, stored = struct.unpack("<IQQ", raw)
        if stored != per_part[p] - 1:
            raise CheckFailed(f"group offset of partition {p}: {stored} (want {per_part[p] - 1})")
    check("group offsets stored", True)
    await root.delete_consumer_group(STREAM, TOPIC, "py-workers")
    check("delete consumer group", await root.get_consumer_group(STREAM, TOPIC, "py-workers") is None)

    # ---- personal access tokens: create (42), list (41), log in with it, delete (43) ----
    name = b"py-token"
    raw = await root.send_binary_request(42, bytes([len(name)]) + name + struct.pack("<Q", 0))
    token = raw[1 : 1 + raw[0]].decode()
    check("create PAT", len(token) > 20, raw)
    listed = await root.send_binary_request(41, b"")
    check("list PATs", name in listed, listed)
    pat_client = client(AutoLogin.personal_access_token(token))
    await pat_client.connect()
    s = await pat_client.get_stream(STREAM)
    check("login with PAT", s is not None and s.name == STREAM)
    await root.send_binary_request(43, bytes([len(name)]) + name)
    listed = await root.send_binary_request(41, b"")
    check("delete PAT", name not in listed, listed)
    bad = client(AutoLogin.personal_access_token(token))
    try:
        await bad.connect()
        await bad.get_streams()
        check("deleted PAT refused", False, "login succeeded")
    except RuntimeError as e:
        check("deleted PAT refused", True, str(e))

    # ---- users ----
    await root.create_user("py-user", "py-secret")
    users = await root.get_users()
    check("create/get users", any(u.username == "py-user" for u in users), repr(users))
    await root.delete_user("py-user")

    # ---- purge and delete ----
    await root.purge_topic(STREAM, TOPIC)
    topic = await root.get_topic(STREAM, TOPIC)
    check("purge topic", topic.messages_count == 0, topic.messages_count)
    empty = await root.poll_messages(
        STREAM, TOPIC, consumer=reader, polling_strategy=PollingStrategy.First(),
        count=10, auto_commit=False, partition_id=0,
    )
    check("poll after purge", empty == [], len(empty))
    await root.send_messages(STREAM, TOPIC, 0, [SendMessage("after purge")])
    again = await root.poll_messages(
        STREAM, TOPIC, consumer=reader, polling_strategy=PollingStrategy.First(),
        count=10, auto_commit=False, partition_id=0,
    )
    check("send after purge restarts at offset 0", [m.offset() for m in again] == [0], [m.offset() for m in again])
    await root.purge_stream(STREAM)
    await root.delete_topic(STREAM, TOPIC)
    check("delete topic", await root.get_topic(STREAM, TOPIC) is None)
    await root.delete_stream(STREAM)
    check("delete stream", await root.get_stream(STREAM) is None)
    try:
        await root.delete_stream(STREAM)
        check("delete missing stream rejected", False, "no error")
    except RuntimeError as e:
        check("delete missing stream rejected", True, str(e))
    print("ALL CHECKS PASSED", flush=True)


async def run_and_settle():
    await main()
    # main's clients are dropped when it returns; give their connections a moment to close while
    # the event loop still runs. Left to interpreter teardown, the SDK 0.9.0 sometimes ended the
    # process with SIGABRT after every check had passed.
    gc.collect()
    await asyncio.sleep(0.3)


if __name__ == "__main__":
    try:
        asyncio.run(run_and_settle())
    except CheckFailed as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)
    except Exception:
        traceback.print_exc()
        print("FAIL exception", flush=True)
        sys.exit(1)
