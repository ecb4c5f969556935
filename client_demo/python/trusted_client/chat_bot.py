"""Logs in and sends a message to a user every N seconds until stopped (Ctrl-C or SIGTERM).

    cd client_demo/python
    TRUSTED_PASSWORD=... python -m trusted_client.chat_bot --url http://127.0.0.1:5000 \\
        --username alice --to bob --every 5 --text "ping {n} at {time}"

Replies from the other user are printed as they arrive (polled with the last
seq seen). A rate limit (429) makes it wait and go on; an expired session is
renewed by logging in again.
"""

import argparse
import datetime as dt
import os
import signal
import sys
import threading

from .client import TrustedClient
from .errors import ApiError, RateLimited


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m trusted_client.chat_bot",
        description="Log in and send a message to a user every N seconds until stopped.")
    parser.add_argument("--url", default=os.environ.get("TRUSTED_API_URL", "http://127.0.0.1:5000"),
                        help="Base URL of the API (env TRUSTED_API_URL; default %(default)s).")
    parser.add_argument("--username", required=True, help="Who to log in as.")
    parser.add_argument("--password", default=os.environ.get("TRUSTED_PASSWORD"),
                        help="Password (better: the environment variable TRUSTED_PASSWORD).")
    parser.add_argument("--to", required=True, help="Username to send messages to.")
    parser.add_argument("--every", type=float, default=5.0, help="Seconds between messages (default 5).")
    parser.add_argument("--text", default="Message {n} at {time}",
                        help="Message template; {n} is the count, {time} the UTC time.")
    parser.add_argument("--count", type=int, default=0, help="Stop after this many messages (0: never).")
    args = parser.parse_args(argv)
    if not args.password:
        parser.error("give --password or set TRUSTED_PASSWORD")
    if args.every <= 0:
        parser.error("--every must be positive")
    return args


def run(args, stop, out=sys.stdout):
    """Sends until `stop` is set (or --count is reached); returns how many messages were sent."""
    client = TrustedClient(args.url)
    client.login(args.username, args.password)
    conversation = client.start_conversation(args.to)
    conv_id, me = conversation["id"], client.user["id"]
    last_seq = conversation["message_count"]
    print(f"logged in as {args.username}; conversation {conv_id} with {args.to}", file=out, flush=True)
    sent = 0
    while not stop.is_set():
        text = args.text.format(n=sent + 1, time=dt.datetime.now(dt.UTC).strftime("%H:%M:%S"))
        try:
            message = client.send_message(conv_id, text)
            sent += 1
            # Its own count apart from the conversation's number (which counts both sides).
            print(f"sent {sent} (message #{message['seq']}): {message['body']}", file=out, flush=True)
            for reply in client.new_messages(conv_id, after=last_seq):
                last_seq = reply["seq"]
                if reply["author_id"] != me:
                    print(f"{reply['author_username']} (message #{reply['seq']}): {reply['body']}", file=out,
                          flush=True)
        except RateLimited as exc:
            wait = exc.retry_after or args.every
            print(f"rate limited; waiting {wait:.0f} s", file=out, flush=True)
            stop.wait(wait)
            continue
        except ApiError as exc:
            if 0 < exc.status < 500:
                raise  # a refusal (not a member, bad text...): retrying will not help
            print(f"could not send ({exc}); trying again", file=out, flush=True)
        if args.count and sent >= args.count:
            break
        stop.wait(args.every)
    return sent


def main(argv=None):
    args = parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sent = run(args, stop)
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"stopped after {sent} message(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
