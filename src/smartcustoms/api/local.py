"""Running the service in a background thread on loopback (demos, tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartcustoms.platform import SmartCustoms

__all__ = ["free_port", "serve_in_thread"]


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(platform: SmartCustoms, *, timeout: float = 20.0) -> Generator[str, None, None]:
    """Run the service for ``platform`` on a loopback port; yield its base URL.

    A generator (``yield from serve_in_thread(platform)`` in a fixture, or ``next()``): the
    server stops and the platform is closed when the generator is closed.

    Raises:
        RuntimeError: The server did not start within ``timeout`` seconds.
    """
    import uvicorn

    from smartcustoms.api.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        platform.close()
