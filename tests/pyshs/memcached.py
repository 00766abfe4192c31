"""memcached for the tests: one server on 127.0.0.1 (or on a unix socket) started and stopped
by pid, its faults (stall, kill, restart on the same port), and a tiny text-protocol client."""

import os
import re
import signal
import socket
import subprocess
import time

from .env import MEMCACHED, all_threads_stopped, free_port, port_open, wait_for
from .tokens import unseal


class McClient:
    """A tiny memcached text-protocol client (one connection per command); port is a TCP port
    on 127.0.0.1 or the path of a unix socket."""

    def __init__(self, port, timeout=2.0):
        self.port = port
        self.timeout = timeout

    def _connect(self):
        if isinstance(self.port, str):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            s.connect(self.port)
            return s
        return socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)

    def _cmd(self, data, terminators):
        with self._connect() as s:
            s.sendall(data)
            buf = b""
            deadline = time.monotonic() + self.timeout
            while not any(buf.endswith(t) for t in terminators):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"memcached: no complete answer to {data[:40]!r}: {buf!r}")
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return buf

    def get(self, key):
        """The value as str, or None when memcached has no such key.  A session value the
        module sealed in MAC mode (a key file is configured) is given without its seal: the
        session as mod_session encoded it.  get_raw() gives what memcached holds."""
        return unseal(self.get_raw(key))

    def get_raw(self, key):
        """The value as str, exactly as memcached holds it, or None."""
        buf = self._cmd(f"get {key}\r\n".encode(), [b"END\r\n"])
        if buf == b"END\r\n":
            return None
        m = re.match(rb"VALUE \S+ \d+ (\d+)\r\n", buf)
        assert m, f"unexpected memcached answer {buf!r}"
        n = int(m.group(1))
        start = m.end()
        return buf[start:start + n].decode("utf-8", "replace")

    def present(self, keys, batch=20):
        """The keys of `keys` this memcached holds (multi-get, `batch` keys a command)."""
        found = set()
        keys = list(keys)
        for i in range(0, len(keys), batch):
            buf = self._cmd(("get " + " ".join(keys[i:i + batch]) + "\r\n").encode(),
                            [b"END\r\n"])
            found.update(m.decode() for m in re.findall(rb"^VALUE (\S+) ", buf, re.M))
        return found

    def set(self, key, value, ttl=300):
        data = value.encode()
        buf = self._cmd(f"set {key} 0 {ttl} {len(data)}\r\n".encode() + data + b"\r\n",
                        [b"STORED\r\n", b"ERROR\r\n"])
        assert buf == b"STORED\r\n", buf

    def delete(self, key):
        self._cmd(f"delete {key}\r\n".encode(), [b"DELETED\r\n", b"NOT_FOUND\r\n"])

    def ttl(self, key):
        """Remaining TTL in seconds by meta get ('mg KEY t', memcached >= 1.6); None on a miss,
        -1 for an item that never expires."""
        buf = self._cmd(f"mg {key} t\r\n".encode(), [b"\r\n"])
        if buf.startswith(b"EN"):
            return None
        m = re.match(rb"HD t(-?\d+)", buf)
        assert m, f"unexpected meta-get answer {buf!r}"
        return int(m.group(1))

    def stats(self):
        buf = self._cmd(b"stats\r\n", [b"END\r\n"])
        out = {}
        for line in buf.decode().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "STAT":
                out[parts[1]] = parts[2]
        return out

    def stat(self, name):
        return int(self.stats()[name])

    def flush_all(self):
        self._cmd(b"flush_all\r\n", [b"OK\r\n"])


class Memcached:
    """One memcached on 127.0.0.1:port, or on the unix socket WORKDIR/memcached.sock
    (unix_socket=True, mode 0666 so that httpd's children reach it), started and stopped by
    pid."""

    def __init__(self, workdir, port=None, args=(), memory_mb=64, unix_socket=False):
        self.workdir = workdir
        self.socket = os.path.join(workdir, "memcached.sock") if unix_socket else None
        self.port = self.socket or port or free_port()
        self.args = list(args)            # more memcached options (e.g. -I, the item size)
        self.memory_mb = memory_mb
        self.proc = None
        self.log = None
        self.pidfile = os.path.join(workdir, "memcached.pid")
        self.client = McClient(self.port)
        self.stopped = False

    @property
    def addr(self):
        return self.socket or f"127.0.0.1:{self.port}"

    def _listening(self):
        if self.socket:
            try:
                self.client.stats()
                return True
            except OSError:
                return False
        return port_open(self.port)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        where = (["-s", self.socket, "-a", "0666"] if self.socket
                 else ["-l", "127.0.0.1", "-p", str(self.port), "-U", "0"])
        argv = [MEMCACHED] + where + ["-m", str(self.memory_mb)] + self.args
        if os.geteuid() == 0:
            argv += ["-u", "root"]
        self.log = open(os.path.join(self.workdir, "memcached.log"), "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        with open(self.pidfile, "w") as f:
            f.write(f"{self.proc.pid}\n")
        self.stopped = False
        try:
            wait_for(f"memcached (pid {self.proc.pid}) to listen on {self.addr}",
                     lambda: self._listening() or self.proc.poll() is not None, 10)
        except AssertionError:
            self.kill()
            raise
        if self.proc.poll() is not None:
            raise RuntimeError(f"memcached exited at start (status {self.proc.returncode}); "
                               f"see {self.workdir}/memcached.log")
        return self

    def stop(self):
        """SIGSTOP: the process keeps its socket, connections hang."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def stall(self):
        """SIGSTOP, returning once every thread is stopped (on a loaded machine memcached
        answers for a few ms after kill() returned: the thread that takes the signal must be
        scheduled first)."""
        self.stop()
        wait_for(f"every thread of memcached (pid {self.proc.pid}) to be stopped by SIGSTOP",
                 lambda: all_threads_stopped(self.proc.pid), 5, 0.001)

    def cont(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    def kill(self):
        """SIGKILL and reap; returns once the process is gone and its port is free again."""
        if self.proc and self.proc.poll() is None:
            if self.stopped:
                try:
                    os.kill(self.proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"memcached pid {self.proc.pid} still running 10 s after "
                                   f"SIGKILL") from None
        self.stopped = False
        if self.log:
            self.log.close()
            self.log = None
        # the port must be free again before a restart
        if self.socket:
            if os.path.exists(self.socket):
                os.unlink(self.socket)
            return
        wait_for(f"port {self.port} of the killed memcached to be free",
                 lambda: not port_open(self.port), 5)

    def restart(self):
        """Kill, then start again on the same port (retried for 10 s: the kernel may hold the
        port for a moment)."""
        self.kill()
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.start()
            except (RuntimeError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
