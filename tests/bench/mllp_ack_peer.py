#!/usr/bin/python3
"""The peer of mllp_bench.py: Debian python3-hl7's asyncio MLLP server answering AA to
everything, and storing nothing.

Each message is read with the library's own reader (`readmessage`: MLLP unframing and
hl7.parse), answered with the library's own minimal ACK (`Message.create_ack()`: MSH with
sender and receiver swapped, MSA|AA|<MSH-10>) and written back with `writemessage`. So it
does what any HL7 receiver must do per message (unframe, parse, build an ACK, frame, send)
and nothing else: no storage, no fsync, no archive, no duplicate check.

    /usr/bin/python3 mllp_ack_peer.py [--port 0]

Prints "listening on 127.0.0.1:PORT" once ready, then serves until SIGTERM or SIGINT and
prints "answered N" on the way out. Exit 77 when python3-hl7 is missing.
"""

import argparse
import asyncio
import signal
import sys

try:
    import hl7  # noqa: F401  (the parser behind readmessage)
    from hl7.mllp import start_hl7_server
except ImportError:
    print("SKIP: python3-hl7 is not installed (apt-get install python3-hl7)", flush=True)
    sys.exit(77)

answered = 0


async def answer_each(reader, writer):
    global answered
    try:
        while True:
            message = await reader.readmessage()
            writer.writemessage(message.create_ack())
            await writer.drain()
            answered += 1
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the sender closed the connection
    finally:
        writer.close()


async def serve(port):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await start_hl7_server(answer_each, "127.0.0.1", port, encoding="utf-8")
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()
    print(f"answered {answered}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="0: the kernel picks a free port")
    asyncio.run(serve(ap.parse_args().port))


if __name__ == "__main__":
    main()
