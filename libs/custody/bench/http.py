"""A minimal keep-alive HTTP/1.1 client for the load generator.

httpx spent about 7 ms of CPU per raise, on the same two cores as the system under test;
the baseline's generator (nats-py publishes) costs a fraction of that. This client writes
one request per connection at a time and reads a Content-Length response: all intake sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        return cls(reader, writer)

    async def post_json(
        self, host: str, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        payload = json.dumps(body).encode()
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(payload)}")
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await self._writer.drain()
        status_line, *lines = (
            (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        )
        status = int(status_line.split(" ", 2)[1])
        length = None
        for line in lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise HttpError(f"response without Content-Length: {status_line}")
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class Pool:
    """`size` connections to one origin; `post_json` borrows one for one request."""

    def __init__(self, base_url: str, size: int, headers: dict[str, str]) -> None:
        self._base = base_url
        self._host = urlsplit(base_url).netloc
        self._headers = headers
        self._size = size
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()

    async def __aenter__(self) -> Pool:
        for _ in range(self._size):
            self._idle.put_nowait(await Connection.open(self._base))
        return self

    async def __aexit__(self, *_: object) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()

    async def post_json(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        conn = await self._idle.get()
        try:
            status, raw = await conn.post_json(self._host, path, body, self._headers)
        except BaseException:
            await conn.close()
            self._idle.put_nowait(await Connection.open(self._base))
            raise
        self._idle.put_nowait(conn)
        return status, json.loads(raw) if raw else None
