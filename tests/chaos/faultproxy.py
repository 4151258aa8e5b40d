"""A small asyncio TCP fault proxy (toxiproxy cannot be installed here): latency with jitter,
blackholes (bytes held, as TCP retransmission would, until the path heals) and resets."""

from __future__ import annotations

import asyncio
import random
import threading
from contextlib import suppress

from custody.runtime.ports import free_port

CHUNK = 65536


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.latency_s = 0.0
        self.jitter_s = 0.0
        self.blackhole = False
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("fault proxy did not start")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Drop every open connection (clients see a reset and reconnect)."""

        def close_all() -> None:
            for writer in list(self._writers):
                writer.transport.abort()

        self._loop.call_soon_threadsafe(close_all)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, up_w}
        try:
            await asyncio.gather(self._pump(client_r, up_w), self._pump(up_r, client_w))
        finally:
            for writer in (client_w, up_w):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        """Delay each chunk by latency ± jitter, keeping order; hold it during a blackhole."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def read() -> None:
            with suppress(ConnectionError, OSError):
                while data := await src.read(CHUNK):
                    delay = max(0.0, self.latency_s + random.uniform(-self.jitter_s, self.jitter_s))
                    queue.put_nowait((loop.time() + delay, data))
            queue.put_nowait(None)

        reader = asyncio.create_task(read())
        last_due = 0.0
        try:
            while (item := await queue.get()) is not None:
                due = max(item[0], last_due)
                last_due = due
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                # The flag is flipped from the test's thread; polling beats cross-thread events.
                while self.blackhole:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                dst.write(item[1])
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            reader.cancel()
