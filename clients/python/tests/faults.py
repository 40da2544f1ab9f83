"""A TCP proxy that loses connections on purpose, between a client and a real server.

It forwards bytes both ways between 127.0.0.1:<port> and the server, and reads
the server's replies message by message (PostgreSQL's protocol v3: a type
byte, then a 4-byte length that counts itself). When a reply matches the
armed fault, it closes both sockets instead of forwarding that reply: the
server did the work, the client never hears of it.

    with FaultProxy("localhost", 5432) as proxy:
        proxy.drop_at(COMMIT_REPLY)      # the next COMMIT's reply is lost
        psycopg.connect(proxy.conninfo(dbname="x"))

``COMMIT_REPLY`` is the worst case of a lost connection: the transaction has
committed on the server before the reply is sent. ``RESULT_OF("irp_create_batch")``
drops the connection when the function's result comes back, before COMMIT:
the server rolls the transaction back when it notices. ``refuse(n)`` closes
the next n connections as soon as they are accepted.

The client must not negotiate TLS or GSS encryption through it (the
conninfo from ``conninfo()`` says so), or there would be nothing to read.
"""
import socket
import struct
import threading
import time
from typing import Callable, List, Optional

Message = Callable[[bytes, bytes], bool]   # (type byte, payload) -> drop here?


def COMMIT_REPLY(kind: bytes, payload: bytes) -> bool:
    """CommandComplete of a COMMIT: sent after the commit is durable (as synchronous_commit says)."""
    return kind == b"C" and payload == b"COMMIT\x00"


def RESULT_OF(function: str) -> Message:
    """The RowDescription of a result column named after the function: the call ran, nothing is committed."""
    name = function.encode() + b"\x00"
    return lambda kind, payload: kind == b"T" and name in payload


class FaultProxy:
    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.upstream = (host, port)
        self.timeout = timeout
        self.accepted = 0            # connections accepted so far
        self.dropped = 0             # connections closed by a fault
        self._faults: List[Message] = []
        self._refuse = 0
        self._paused = False
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)      # accept() wakes up to see close()
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def conninfo(self, **params: object) -> str:
        params = {"host": "127.0.0.1", "port": self.port, "sslmode": "disable", "gssencmode": "disable", **params}
        return " ".join(f"{k}='{v}'" for k, v in params.items())

    def drop_at(self, fault: Message, times: int = 1) -> None:
        """The next `times` server messages that match `fault` (on any connection) are not forwarded."""
        with self._lock:
            self._faults.extend([fault] * times)

    def refuse(self, times: int) -> None:
        with self._lock:
            self._refuse += times

    def pause(self) -> None:
        """From now on nothing more reaches the clients (until close())."""
        self._paused = True

    def armed(self) -> int:
        with self._lock:
            return len(self._faults)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                _close(s)
        self._thread.join(5)

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            client.setblocking(True)
            with self._lock:
                self.accepted += 1
                refuse = self._refuse > 0
                self._refuse -= refuse
            if refuse:
                _close(client)
                continue
            try:
                host, port = self.upstream
                if host.startswith("/"):          # a Unix-domain socket directory, as libpq reads PGHOST
                    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    server.settimeout(self.timeout)
                    server.connect(f"{host}/.s.PGSQL.{port}")
                else:
                    server = socket.create_connection((host, port), timeout=self.timeout)
            except OSError:
                _close(client)
                continue
            for s in (client, server):
                s.settimeout(self.timeout)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._client_to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(server, client), daemon=True).start()

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                server.sendall(data)
        except OSError:
            pass
        _close(client)
        _close(server)

    def _server_to_client(self, server: socket.socket, client: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                buffer += data
                out = b""
                while len(buffer) >= 5:
                    length = struct.unpack("!I", buffer[1:5])[0]
                    if len(buffer) < 1 + length:
                        break
                    kind, payload = buffer[:1], buffer[5:1 + length]
                    if self._fires(kind, payload):
                        client.sendall(out)        # what came before the fault, not the fault
                        raise ConnectionAbortedError("fault injected")
                    out += buffer[:1 + length]
                    buffer = buffer[1 + length:]
                while self._paused and not self._closed:
                    time.sleep(0.01)
                client.sendall(out)
        except ConnectionAbortedError:
            with self._lock:
                self.dropped += 1
        except OSError:
            pass
        _close(server)
        _close(client)

    def _fires(self, kind: bytes, payload: bytes) -> bool:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault(kind, payload):
                    del self._faults[i]
                    return True
        return False


def free_port() -> int:
    """A loopback port nothing listens on (connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _close(s: Optional[socket.socket]) -> None:
    if s is None:
        return
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
