#!/usr/bin/env python3
"""A local SMTP sink for tests and trying out notice e-mail: speaks enough SMTP (EHLO/HELO,
AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and writes each message it takes
to a folder as NNNNNN-PID.json (envelope, decoded headers, body) beside NNNNNN-PID.eml (the message
as received). Standard library only.

    python3 ops/smtp-sink.py --dir /tmp/mail [--port 2525] [--reject SUBSTRING] [--auth user:password] [--mute]

Prints "listening on 127.0.0.1:PORT" once ready (--port 0 picks a free port). --reject answers
550 to RCPT TO of addresses containing SUBSTRING; --auth requires that login before MAIL;
--mute accepts connections and never answers.
"""
import argparse, asyncio, base64, email, email.policy, json, os, signal, sys, threading

# A parent may have blocked signals (a test process does, and children inherit the mask):
# SIGTERM and Ctrl-C must still stop the sink.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, signal.SIG_DFL)

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--dir", required=True)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=2525)
parser.add_argument("--reject", action="append", default=[])
parser.add_argument("--auth")
parser.add_argument("--mute", action="store_true", help="accept connections and never answer (time-out tests)")
parser.add_argument("--exit-on-eof", action="store_true", help="stop when standard input closes (when the parent dies)")
args = parser.parse_args()
os.makedirs(args.dir, exist_ok=True)
counter = [len([n for n in os.listdir(args.dir) if n.endswith(".json")])]


def save(mail_from, rcpt_to, user, data):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    counter[0] += 1
    base = os.path.join(args.dir, "%06d-%d" % (counter[0], os.getpid()))
    record = {
        "mail_from": mail_from, "rcpt_to": rcpt_to, "auth_user": user,
        "header_names": [k for k, _ in msg.items()],
        "headers": {k: str(v) for k, v in msg.items()},
        "body": msg.get_content() if not msg.is_multipart() else None,
    }
    with open(base + ".eml.tmp", "wb") as f:
        f.write(data)
    os.replace(base + ".eml.tmp", base + ".eml")
    with open(base + ".json.tmp", "w", encoding="utf-8") as f:
        json.dump(record, f, ensure_ascii=False)
    os.replace(base + ".json.tmp", base + ".json")  # last: a reader sees whole messages only


async def session(reader, writer):
    def send(line):
        writer.write((line + "\r\n").encode())

    async def line():
        raw = await reader.readline()
        if not raw:
            raise ConnectionError
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    if args.mute:
        await reader.read()  # until the client gives up
        writer.close()
        return
    mail_from, rcpt_to, user = None, [], None
    send("220 smtp-sink ready")
    try:
        while True:
            await writer.drain()
            cmd = await line()
            verb = cmd.split(" ", 1)[0].upper()
            arg = cmd[len(verb):].strip()
            if verb == "EHLO":
                send("250-smtp-sink")
                send("250-AUTH PLAIN LOGIN")
                send("250 8BITMIME")
            elif verb == "HELO":
                send("250 smtp-sink")
            elif verb == "AUTH":
                parts = arg.split(" ")
                if parts[0].upper() == "PLAIN":
                    token = parts[1] if len(parts) > 1 else (send("334 ") or await writer.drain() or await line())
                    _, u, p = base64.b64decode(token).decode().split("\0")
                else:
                    send("334 VXNlcm5hbWU6"); await writer.drain(); u = base64.b64decode(await line()).decode()
                    send("334 UGFzc3dvcmQ6"); await writer.drain(); p = base64.b64decode(await line()).decode()
                if args.auth is None or args.auth == u + ":" + p:
                    user = u
                    send("235 2.7.0 authenticated")
                else:
                    send("535 5.7.8 bad credentials")
            elif verb == "MAIL":
                if args.auth and user is None:
                    send("530 5.7.0 authentication required")
                    continue
                mail_from, rcpt_to = arg.split(":", 1)[1].strip().strip("<>"), []
                send("250 2.1.0 ok")
            elif verb == "RCPT":
                address = arg.split(":", 1)[1].strip().strip("<>")
                if any(r in address for r in args.reject):
                    send("550 5.1.1 no such mailbox here")
                else:
                    rcpt_to.append(address)
                    send("250 2.1.5 ok")
            elif verb == "DATA":
                if mail_from is None or not rcpt_to:
                    send("503 5.5.1 MAIL and RCPT first")
                    continue
                send("354 end with <CRLF>.<CRLF>")
                await writer.drain()
                lines = []
                while True:
                    raw = await reader.readline()
                    if not raw:
                        raise ConnectionError
                    if raw in (b".\r\n", b".\n"):
                        break
                    lines.append(raw[1:] if raw.startswith(b".") else raw)  # undo dot-stuffing
                save(mail_from, rcpt_to, user, b"".join(lines))
                mail_from, rcpt_to = None, []
                send("250 2.0.0 queued")
            elif verb == "RSET":
                mail_from, rcpt_to = None, []
                send("250 ok")
            elif verb == "NOOP":
                send("250 ok")
            elif verb == "QUIT":
                send("221 bye")
                await writer.drain()
                break
            else:
                send("502 5.5.2 not implemented")
    except (ConnectionError, ValueError, IndexError):
        pass
    finally:
        writer.close()


def exit_on_eof():
    sys.stdin.buffer.read()
    os._exit(0)


async def main():
    server = await asyncio.start_server(session, args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    print("listening on %s:%d" % (args.host, port), flush=True)
    if args.exit_on_eof:
        threading.Thread(target=exit_on_eof, daemon=True).start()
    async with server:
        await server.serve_forever()


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
