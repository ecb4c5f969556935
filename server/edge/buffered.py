"""The WSGI app behind gunicorn's asyncio worker, each request read whole before it runs.

gunicorn's gthread worker hands a connection to a thread as soon as it is
readable, and the thread then blocks reading the headers: 135 clients sending
one header line every few seconds held every thread of 2 workers x 64 and
/healthz stopped answering. Here the asyncio worker (gunicorn's own `asgi`
worker, no monkey-patching, so grpc and firebase-admin run as usual) reads
headers and body without a thread; only a complete request takes one of
WEB_THREADS threads, for the time the app runs. A body over the app's
largest limit is refused (413) before it is buffered further. See
docs/hardening.md.
"""

import asyncio
import gc
import io
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote_to_bytes

from gunicorn.workers.gasgi import ASGIWorker

log = logging.getLogger(__name__)

# How often the worker looks at its process's dedicated role (kernel/roles.py).
ROLE_POLL_SECONDS = 0.25

_TOO_LARGE = b'{"error":{"code":"payload_too_large","message":"The request body is too large."}}\n'


# For an app that sets no MAX_CONTENT_LENGTH (Flask's default: no limit), the front still
# buffers no more than this.
UNSET_LIMIT = 1024 * 1024


def largest_body(app):
    """The most bytes any route of the Flask app takes (uploads, else MAX_CONTENT_LENGTH, else
    UNSET_LIMIT); each route still checks its own limit."""
    limits = [getattr(view, "upload_limit", 0) or 0 for view in app.view_functions.values()]
    return max([app.config.get("MAX_CONTENT_LENGTH") or UNSET_LIMIT, *limits])


def wsgi_environ(scope, body):
    """The WSGI environ of an ASGI HTTP scope whose body was read whole (now a plain
    Content-Length body: any chunked framing is gone)."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        # As WSGI servers do: percent-decoded bytes, as latin-1.
        "PATH_INFO": unquote_to_bytes(raw_path.split(b"?", 1)[0]).decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1] if len(server) > 1 else ""),
        "REMOTE_ADDR": str(client[0]), "REMOTE_PORT": str(client[1] if len(client) > 1 else ""),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in ("content-length", "transfer-encoding"):
            continue
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        if key in environ:
            environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            environ[key] = value
    environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def run_wsgi(app, environ):
    """(status, headers, body) of one WSGI call, run in a worker thread."""
    started, chunks = {}, []

    def start_response(status, headers, exc_info=None):
        if exc_info and started.get("sent"):
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started["status"], started["headers"], b"".join(chunks)


class BufferedWSGI:
    """An ASGI app that serves a WSGI app: reads the whole request, then runs the app in a
    thread of its pool and sends the whole response."""

    def __init__(self, wsgi_app, threads, max_body):
        self.wsgi_app = wsgi_app
        self.max_body = max_body
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")
        self.closing = False  # set once this process gives HTTP up: every answer then ends its connection

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return  # no websockets here
        body = await self._read_body(scope, receive)
        if body is None:
            await self._respond(send, 413, [(b"content-type", b"application/json"), (b"connection", b"close")],
                                _TOO_LARGE)
            return
        if body is False:
            return  # the client went away
        status, headers, content = await asyncio.get_running_loop().run_in_executor(
            self.executor, run_wsgi, self.wsgi_app, wsgi_environ(scope, body))
        if self.closing:  # the client takes its next request to another worker
            headers = [*headers, (b"connection", b"close")]
        await self._respond(send, status, headers, content)

    async def _read_body(self, scope, receive):
        """The body (bytes); None when it is over max_body; False when the client left."""
        for name, value in scope["headers"]:
            if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > self.max_body:
                return None
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return None
            if not message.get("more_body", False):
                return bytes(body)

    @staticmethod
    async def _respond(send, status, headers, content):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGQUIT})


def hold_stop_signals():
    """Blocks the stop signals: one sent meanwhile stays pending, not lost
    (gunicorn_conf.pre_fork, and the worker until its handlers are in place)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def release_stop_signals():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _exit_while_booting(signum, frame):
    os._exit(0)  # nothing accepted yet: nothing to finish


class BufferedWSGIWorker(ASGIWorker):
    """gunicorn's asyncio worker serving the Flask app through BufferedWSGI
    (`worker_class` in server/gunicorn_conf.py); `threads` sizes the app's thread pool.

    A stop must reach a worker at any moment of its life, or the master SIGKILLs it after
    graceful_timeout ("Perhaps out of memory?") on a deploy or a Ctrl-C right after start.
    Two gaps lose one otherwise: between the fork and init_signals the worker still has the
    master's handlers (gunicorn_conf.pre_fork holds the signals across the fork), and uvloop
    drops a signal that comes after add_signal_handler but before its loop first runs (it
    reaches the loop only through a wakeup fd set when the loop starts), the whole time the
    app loads. So until the loop runs, a stop ends the worker at once; then the loop's handlers.
    """

    @classmethod
    def check_config(cls, cfg, log):
        pass  # threads are used: they run the app (ASGIWorker would warn that they are not)

    def init_signals(self):
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        for sig in STOP_SIGNALS:
            signal.signal(sig, _exit_while_booting)
        release_stop_signals()  # held since the fork: a stop sent meanwhile ends the worker now

    def _init_loop_signals(self):
        hold_stop_signals()  # ASGIWorker's resets each to SIG_DFL before the loop takes it
        try:
            super().init_signals()
        finally:
            release_stop_signals()

    def load_wsgi(self):
        super().load_wsgi()
        self.wsgi = self.asgi  # the Flask app: gunicorn_conf's worker_exit stops it
        self.asgi = BufferedWSGI(self.wsgi, self.cfg.threads, largest_body(self.wsgi))
        # The ~130,000 objects of the loaded app live as long as the process. Out of the
        # collector's sight, the full collection that came every ~3,000 transfers no longer
        # stops every thread for ~80 ms (0.03 ms a transfer on average: bench/RESULTS.md).
        gc.freeze()

    def run(self):
        self.loop.call_soon(self._init_loop_signals)  # its first callback, before any server listens
        role = self.wsgi.extensions.get("dedicated_role")
        alone_from = self.wsgi.config.get("LEDGER_WRITER_ALONE_WORKERS") or 0
        if role is not None and alone_from and self.cfg.workers >= alone_from:
            # A reference kept: the loop holds only a weak one to its tasks.
            self.loop.call_soon(lambda: setattr(self, "_role_task",
                                                self.loop.create_task(self._serve_http_while_free(role))))
        super().run()

    async def _serve_http_while_free(self, role):
        """Gives HTTP up while this process holds a dedicated role (the ledger writer's lease,
        kernel/roles.py): it stops listening (the other workers of the instance share the socket and
        take every new connection) and ends each open connection after its next answer. Once the
        role is gone it ends, and the master starts a fresh worker that serves HTTP again."""
        while self.alive:
            await asyncio.sleep(ROLE_POLL_SECONDS)
            if not self.asgi.closing and role.held() and self.servers:
                log.info("ledger writer: this worker (pid %s) stops serving HTTP", self.pid)
                for server in self.servers:
                    # Its copy of the shared socket (with WEB_REUSE_PORT its own socket, whose
                    # queued connections the kernel resets: gunicorn_conf.py).
                    server.close()
                self.asgi.closing = True
            elif self.asgi.closing and not role.held():
                log.info("ledger writer: this worker (pid %s) no longer writes; restarting it", self.pid)
                self.alive = False
