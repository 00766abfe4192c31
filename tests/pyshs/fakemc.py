"""A scripted fake memcached, for the tests that need a server that misbehaves on purpose (the
real one, started and stopped by pid, is memcached.py).

FakeMemcached listens on 127.0.0.1 (a free port) or on a unix socket, accepts in a daemon
thread and hands each connection, as a Conn, to the test's script, `script(conn)`, in a daemon
thread of its own: the script is the server's behaviour, and the connection ends when it
returns or when the peer closes.  Conn reads memcached's text protocol (a command line, the
data block of a storage command) and records every command line the server received.

close() (or the end of a `with` block) stops it by itself: the listening socket shut down
(a thread blocked in accept() on a socket closed under it can wake up on the next socket given
the same descriptor, another test's server) and closed, every connection shut down, so that a
script blocked in recv() returns, every thread joined within a bound, every socket closed."""

import os
import socket
import threading
import time

STOP_WITHIN = 5.0           # seconds for every thread to end once close() is called


def value_answer(key, value):
    """memcached's answer to `get key`: the VALUE block, or END alone when value is None."""
    if value is None:
        return b"END\r\n"
    return b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (key.encode(), len(value), value)


def answer_other(conn, parts, data, lock):
    """A fake's plain answer to a command it does not script: `delete` from data (under lock),
    ERROR to anything else."""
    if parts[0] == "delete":
        with lock:
            found = data.pop(parts[1], None)
        conn.send(b"DELETED\r\n" if found else b"NOT_FOUND\r\n")
    else:
        conn.send(b"ERROR\r\n")


class Closed(OSError):
    """The peer closed the connection (or close() shut it down)."""


class Conn:
    """One connection to a FakeMemcached, as its script sees it."""

    def __init__(self, sock, server):
        self.sock = sock
        self.server = server
        self.buf = b""              # received, not read yet

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed("connection closed")
            self.buf += chunk

    def line(self):
        """The next line, without its CRLF (latin-1); recorded in server.received."""
        while b"\r\n" not in self.buf:
            self._fill(len(self.buf) + 1)
        raw, self.buf = self.buf.split(b"\r\n", 1)
        text = raw.decode("latin-1")
        with self.server.lock:
            self.server.received.append(text)
        return text

    def data(self, n):
        """A data block: n bytes and the CRLF after them -> the n bytes."""
        self._fill(n + 2)
        value, self.buf = self.buf[:n], self.buf[n + 2:]
        return value

    def command(self):
        """The next command -> (its words, ["?"] for an empty line; the data block of a set or
        an add, else None)."""
        parts = self.line().split() or ["?"]
        if parts[0] in ("set", "add") and len(parts) >= 5:
            return parts, self.data(int(parts[4]))
        return parts, None

    def send(self, data):
        self.sock.sendall(data)


class FakeMemcached:
    """A listening socket whose connections run `script(conn)`.  On TCP (the default), addr is
    "127.0.0.1:PORT" and port the port; with unix_socket=PATH, addr and port are the path
    (removed again by close()).  nodelay: TCP_NODELAY on every accepted connection."""

    def __init__(self, script, unix_socket=None, nodelay=False):
        self.script = script
        self.nodelay = nodelay and unix_socket is None
        self.lock = threading.Lock()
        self.received = []          # every command line, in the order read
        self.conns = []             # (socket, its thread)
        self.closed = False
        self.path = unix_socket
        if unix_socket:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_socket)
            self.sock.listen(64)
            self.addr = self.port = unix_socket
        else:
            self.sock = socket.create_server(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            self.addr = "127.0.0.1:%d" % self.port
        self.acceptor = threading.Thread(target=self._accept, daemon=True,
                                         name=f"fakemc accept {self.addr}")
        self.acceptor.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.nodelay:
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True,
                                 name=f"fakemc conn {self.addr}")
            with self.lock:
                self.conns.append((c, t))
            t.start()

    def _serve(self, c):
        try:
            self.script(Conn(c, self))
        except OSError:
            pass                    # the peer went away, or close() shut the connection
        finally:
            c.close()

    def close(self):
        """Stop accepting, end every connection, join every thread; raises when a thread is
        still running STOP_WITHIN seconds later (a script that never returns)."""
        self.closed = True
        end = time.monotonic() + STOP_WITHIN
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.acceptor.join(STOP_WITHIN)
        self.sock.close()
        if self.path and os.path.exists(self.path):
            os.unlink(self.path)
        with self.lock:
            conns = list(self.conns)
        for c, _ in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for _, t in conns:
            t.join(max(0.0, end - time.monotonic()))
        for c, _ in conns:
            c.close()
        alive = [t.name for t in [self.acceptor] + [t for _, t in conns] if t.is_alive()]
        if alive:
            raise RuntimeError(f"fake memcached {self.addr}: threads still running "
                               f"{STOP_WITHIN} s after close(): {alive}")
