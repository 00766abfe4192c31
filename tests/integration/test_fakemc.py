"""The scripted fake memcached of the attack passes (pyshs.fakemc) on its own: a script's
answers on TCP and on a unix socket, what it records, and a close() that ends every
connection and thread by itself, or says which did not end."""

import os
import socket
import threading
import time

import pytest

from pyshs import fakemc
from pyshs.fakemc import FakeMemcached, value_answer


def store_script(data):
    def script(c):
        while True:
            parts, val = c.command()
            if val is not None:
                data[parts[1]] = val
                c.send(b"STORED\r\n")
            elif parts[0] == "get":
                c.send(value_answer(parts[1], data.get(parts[1])))
            else:
                c.send(b"ERROR\r\n")
    return script


def connect(fake):
    if isinstance(fake.port, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(fake.port)
        return s
    return socket.create_connection(("127.0.0.1", fake.port), timeout=5)


def ask(s, data, answer_end):
    s.sendall(data)
    buf = b""
    while not buf.endswith(answer_end):
        chunk = s.recv(65536)
        assert chunk, f"closed after {buf!r}"
        buf += chunk
    return buf


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_script_answers_and_close_ends_everything(workdir, unix):
    path = os.path.join(workdir, "fake.sock") if unix else None
    data = {}
    fake = FakeMemcached(store_script(data), unix_socket=path)
    try:
        assert fake.addr == (path if unix else f"127.0.0.1:{fake.port}")
        s = connect(fake)
        # a set and a get in one write: the data block is read whole, the get after it
        assert ask(s, b"set k 0 0 5\r\nab\r\nc\r\nget k\r\n", b"END\r\n") == \
            b"STORED\r\nVALUE k 0 5\r\nab\r\nc\r\nEND\r\n"
        assert ask(s, b"get nothing\r\n\r\n", b"ERROR\r\n") == b"END\r\nERROR\r\n"
        assert data == {"k": b"ab\r\nc"}
        assert fake.received == ["set k 0 0 5", "get k", "get nothing", ""]
        idle = connect(fake)                # a connection the script is blocked reading
        ask(idle, b"get k\r\n", b"END\r\n")
    finally:
        fake.close()
    assert s.recv(10) == b"" and idle.recv(10) == b"", "a connection outlived close()"
    s.close()
    idle.close()
    assert not fake.acceptor.is_alive()
    assert not [t for _, t in fake.conns if t.is_alive()]
    assert not (unix and os.path.exists(path)), "the socket file is left"
    with pytest.raises(OSError):
        connect(fake)


def test_close_names_a_script_that_never_returns(monkeypatch):
    monkeypatch.setattr(fakemc, "STOP_WITHIN", 0.3)
    release = threading.Event()

    def stuck(c):
        c.line()
        release.wait(10)                    # deaf to the connection's shutdown

    fake = FakeMemcached(stuck)
    s = connect(fake)
    s.sendall(b"get k\r\n")
    for _ in range(200):                    # the line read: the script is in its wait
        if fake.received:
            break
        time.sleep(0.01)
    assert fake.received == ["get k"]
    with pytest.raises(RuntimeError, match="threads still running"):
        fake.close()
    release.set()
    for _, t in fake.conns:
        t.join(5)
        assert not t.is_alive()
    s.close()
