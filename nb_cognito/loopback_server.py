"""A tiny HTTP/1.1 server for loopback that hostile local clients cannot starve.

Any local user can connect to a port on ``127.0.0.1``. ``http.server`` gives each connection a
thread and a timeout per ``recv``, so a handful of clients sending one byte now and then hold
every thread forever, and ``shutdown()`` waits for them. Here instead:

* one thread reads every request with a selector: a slow or idle connection costs a file
  descriptor and a few bytes, never a thread;
* each request has **one total deadline** from ``accept`` for its request line and headers
  (``deadline`` seconds), and the headers are capped (``max_header_bytes``);
* as soon as the request line and headers are in, ``authorize(request)`` decides (the caller
  checks its token there); a refusal is answered from the loop, and no body is ever read;
* only authorized requests reach the ``answer`` workers (at most ``max_workers`` threads);
* nothing a client does ends the loop (a connect flood once did, with ``KeyError`` on an evicted
  socket): an error costs the one connection, and :meth:`LoopbackServer.start` is a watchdog
  that starts a dead serving thread again on the same socket;
* ``shutdown()`` stops the loop at once and closes every pending connection: it never waits
  for a client. Workers still answering finish on their own, bounded by their write timeout.
  In a forked child (which has no serving thread) it does not wait at all.

It answers JSON (a dict body) or a small HTML page (a str body), one request per connection
(``Connection: close``). It listens on ``127.0.0.1`` on a random port, or on the sockets
:func:`listen` made (the hosted UI's callback: a fixed port, on 127.0.0.1 and ::1).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from nb_cognito import forksafe
from nb_cognito.loopback_http import Answer, Request, encode_answer, listen, parse_head

__all__ = ["Answer", "LoopbackServer", "Request", "listen"]

log = logging.getLogger("nb_cognito")

_Socket = socket.socket  # (the class below has a ``socket`` property)

_LINGER = 1.0  # seconds to drain what a refused client still sends, so that it reads our answer


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    lingering: bool = False


_Connections = dict[socket.socket, _Connection]


class LoopbackServer:
    """Serve ``authorize`` / ``answer`` on ``127.0.0.1`` (random port), or on ``listeners``
    (made by :func:`listen`, owned from then on), until :meth:`shutdown`.

    ``authorize(request)`` returns ``None`` to let the request through to ``answer``, or the
    refusal to send. Both return ``(status, json_body)``. The interface mirrors
    ``socketserver``: :meth:`serve_forever` in a thread, :meth:`shutdown`, :meth:`server_close`.
    """

    def __init__(
        self,
        authorize: Callable[[Request], Answer | None],
        answer: Callable[[Request], Answer],
        *,
        deadline: float,
        max_workers: int,
        max_connections: int = 256,
        max_header_bytes: int = 16384,
        listeners: Sequence[socket.socket] = (),
    ) -> None:
        self._authorize, self._answer = authorize, answer
        self._deadline, self._max_workers = deadline, max_workers
        self._max_connections, self._max_header_bytes = max_connections, max_header_bytes
        self._listeners = list(listeners) or [listen("127.0.0.1", 0)]
        self._listener = self._listeners[0]
        try:
            self._wake_r, self._wake_w = socket.socketpair()
        except BaseException:
            for sock in self._listeners:
                sock.close()
            raise
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.server_address: tuple[str, int] = self._listener.getsockname()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._serving_pid: int | None = None  # the process whose thread runs serve_forever
        self._jobs: queue.SimpleQueue[tuple[socket.socket, Request]] = queue.SimpleQueue()
        self._workers_lock = forksafe.Lock()
        self._workers = 0
        self._idle = 0
        self._thread_lock = forksafe.Lock()
        self._thread: threading.Thread | None = None
        self.restarts = 0  # times the loop or its thread was started again after a failure

    @property
    def socket(self) -> _Socket:
        """The listening socket (as ``socketserver``'s): a forked child closes its copy."""
        return self._listener

    # -- the loop -----------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept and read requests until :meth:`shutdown` (run it in a thread, or use :meth:`start`).

        Nothing a client does ends this loop: a connection closed or evicted earlier in the same
        round is skipped, an error while handling one event closes that connection only, and an
        error outside any event starts the loop again on the same listening socket.
        """
        self._serving_pid = os.getpid()
        self._stopped.clear()
        try:
            while not self._stopping.is_set():
                try:
                    self._run(poll_interval)
                except Exception:
                    self.restarts += 1
                    log.warning("The credentials endpoint's loop failed; it starts again.", exc_info=True)
                    self._stopping.wait(0.05)  # never a busy loop, whatever keeps failing
        finally:
            self._stopped.set()

    def start(self, name: str, poll_interval: float = 0.2) -> None:
        """Run :meth:`serve_forever` in a daemon thread; start it again if it died (the watchdog).

        Idempotent and cheap: owners call it on every use (each sign-in and refresh), so a
        serving thread that died for any reason comes back on the same port, path and token.
        """
        with self._thread_lock:
            if self._stopping.is_set():
                raise RuntimeError("This loopback server was shut down.")
            thread = self._thread
            if thread is not None and thread.is_alive():
                return
            if thread is not None:
                self.restarts += 1
                log.warning("The credentials endpoint's serving thread had stopped; it starts again.")
            self._thread = threading.Thread(
                target=self.serve_forever, args=(poll_interval,), name=name, daemon=True
            )
            self._thread.start()

    @property
    def serving(self) -> bool:
        """True while a thread started by :meth:`start` runs the loop."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopping.is_set()

    def _run(self, poll_interval: float) -> None:
        connections: _Connections = {}
        selector = selectors.DefaultSelector()
        try:
            for listener in self._listeners:
                selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                now = time.monotonic()
                nearest = min((c.deadline for c in connections.values()), default=now + poll_interval)
                for key, _ in selector.select(max(0.0, min(poll_interval, nearest - now))):
                    self._event(selector, connections, key.fileobj)
                self._expire(selector, connections)
        finally:
            for connection in connections.values():
                connection.sock.close()
            selector.close()

    def _event(self, selector: selectors.BaseSelector, connections: _Connections, fileobj: object) -> None:
        """Handle one ready socket; whatever goes wrong costs that connection only."""
        if fileobj in self._listeners:
            self._accept(selector, connections, fileobj)
            return
        if fileobj is self._wake_r:
            self._drain_wake()
            return
        connection = connections.get(fileobj)  # type: ignore[call-overload]
        if connection is None:  # closed or evicted earlier in this round (its fd may be -1 now)
            return
        try:
            self._readable(selector, connections, connection)
        except Exception:
            log.debug("credentials endpoint: dropped a connection after an error", exc_info=True)
            self._close(selector, connections, connection)

    def _accept(self, selector: selectors.BaseSelector, connections: _Connections, listener: _Socket) -> None:
        for _ in range(self._max_connections):  # then the round's other events get their turn
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors and the like: try again on the next round
                log.debug("credentials endpoint: accept failed", exc_info=True)
                return
            if len(connections) >= self._max_connections:  # the oldest pending request makes room
                self._close(selector, connections, min(connections.values(), key=lambda c: c.deadline))
            connection = _Connection(sock, time.monotonic() + self._deadline)
            try:
                sock.setblocking(False)
                connections[sock] = connection
                selector.register(sock, selectors.EVENT_READ)
            except (OSError, ValueError, KeyError):
                self._close(selector, connections, connection)

    def _readable(
        self,
        selector: selectors.BaseSelector,
        connections: _Connections,
        connection: _Connection,
    ) -> None:
        try:
            data = connection.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or connection.lingering:
            if not data:
                self._close(selector, connections, connection)
            return
        connection.buffer += data
        end = connection.buffer.find(b"\r\n\r\n")
        if end < 0:
            end = connection.buffer.find(b"\n\n")
        if end < 0:
            if len(connection.buffer) > self._max_header_bytes:
                self._refuse(selector, connections, connection, 431, "Request headers too large.")
            return
        if end > self._max_header_bytes:
            self._refuse(selector, connections, connection, 431, "Request headers too large.")
            return
        request = parse_head(bytes(connection.buffer[:end]))
        if request is None:
            self._refuse(selector, connections, connection, 400, "Malformed request.")
            return
        try:
            refusal = self._authorize(request)
        except Exception:
            log.exception("The credentials endpoint failed.")
            refusal = (500, {"code": "InternalError", "message": "Internal error."})
        if refusal is not None:
            self._send_and_linger(selector, connection, refusal, request.method)
            return
        selector.unregister(connection.sock)
        del connections[connection.sock]
        self._submit(connection.sock, request)

    def _refuse(
        self,
        selector: selectors.BaseSelector,
        connections: _Connections,
        connection: _Connection,
        status: int,
        message: str,
    ) -> None:
        codes = {400: "BadRequest", 408: "RequestTimeout", 431: "RequestHeaderFieldsTooLarge"}
        self._send_and_linger(selector, connection, (status, {"code": codes[status], "message": message}), "")

    def _send_and_linger(
        self, selector: selectors.BaseSelector, connection: _Connection, refusal: Answer, method: str
    ) -> None:
        """Answer from the loop (a small answer fits the socket buffer), then drain briefly."""
        status, body = refusal
        log.debug("credentials endpoint: %s %s", method or "-", status)
        try:
            connection.sock.send(encode_answer(status, body, head_only=method == "HEAD"))
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        connection.lingering = True
        connection.buffer = bytearray()
        connection.deadline = min(connection.deadline, time.monotonic() + _LINGER)

    def _expire(self, selector: selectors.BaseSelector, connections: _Connections) -> None:
        now = time.monotonic()
        for connection in [c for c in connections.values() if c.deadline <= now]:
            if not connection.lingering:
                with contextlib.suppress(OSError):
                    connection.sock.send(
                        encode_answer(408, {"code": "RequestTimeout", "message": "Too slow."})
                    )
            self._close(selector, connections, connection)

    @staticmethod
    def _close(
        selector: selectors.BaseSelector,
        connections: _Connections,
        connection: _Connection,
    ) -> None:
        connections.pop(connection.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(connection.sock)
        connection.sock.close()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(512):
                pass
        except OSError:
            pass

    # -- the workers (authorized requests only) ------------------------------------------------

    def _submit(self, sock: _Socket, request: Request) -> None:
        self._jobs.put((sock, request))
        with self._workers_lock:
            if self._idle > 0 or self._workers >= self._max_workers:
                return
            self._workers += 1
        threading.Thread(target=self._work, name="nb-cognito-credentials-worker", daemon=True).start()

    def _work(self) -> None:
        while not self._stopping.is_set():
            with self._workers_lock:
                self._idle += 1
            try:
                sock, request = self._jobs.get(timeout=2.0)
            except queue.Empty:
                with self._workers_lock:
                    self._idle -= 1
                    # A job put while we timed out counted us as idle: take it, do not leave it.
                    if self._jobs.empty() or self._stopping.is_set():
                        self._workers -= 1
                        return
                continue
            with self._workers_lock:
                self._idle -= 1
            self._serve(sock, request)
        with self._workers_lock:
            self._workers -= 1

    def _serve(self, sock: _Socket, request: Request) -> None:
        try:
            try:
                status, body = self._answer(request)
            except Exception:  # never leak a traceback (or anything in it) to the client
                log.exception("The credentials endpoint failed.")
                status, body = 500, {"code": "InternalError", "message": "Internal error."}
            log.debug("credentials endpoint: %s %s", request.method, status)
            sock.settimeout(self._deadline)  # writing the answer has its own deadline
            sock.sendall(encode_answer(status, body, head_only=request.method == "HEAD"))
        except OSError:
            log.debug("credentials endpoint: a client went away", exc_info=True)
        finally:
            sock.close()

    # -- stopping -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the loop and close every pending connection; never waits for a client."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._serving_pid == os.getpid():  # a forked child has no serving thread to wait for
            self._stopped.wait(5.0)
        while True:  # requests queued for a worker that will not come
            try:
                sock, _ = self._jobs.get_nowait()
            except queue.Empty:
                break
            sock.close()

    def server_close(self) -> None:
        """Close the listening socket (after :meth:`shutdown`)."""
        for sock in (*self._listeners, self._wake_r, self._wake_w):
            sock.close()
