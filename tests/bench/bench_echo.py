"""bench_echo.py — the Python asyncio anchor of bench_echo.c: the chapter's echo server with
asyncio.start_server, nothing tuned. Prints the port it listens on, then serves until killed.
Run with Debian's /usr/bin/python3 (bench_echo does)."""
import asyncio
import sys


async def echo(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
