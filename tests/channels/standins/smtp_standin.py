#!/usr/bin/python3
"""Loopback SMTP server for the channel tests (Debian's python3-aiosmtpd).

Binds 127.0.0.1 on a port the OS chooses and prints "PORT <n>" on stdout.
Each accepted message is saved as <out>/<n>.eml plus <out>/<n>.json: a summary made by
Python's own MIME parser (the `email` package), which the C++ test reads.
--script FILE (JSON) makes given recipients fail:
  {"rcpt": {"dead@example.jp": "550 5.1.1 <dead@example.jp>: Recipient address rejected"},
   "data": {"busy@example.jp": "451 4.3.0 Try again later", "flaky@example.jp": ["421 4.4.5 busy", "451 4.3.0 later"]}}
With --cert/--key the server offers STARTTLS and requires it.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


def summarize(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    lines = raw.split(b"\n")
    parts = []
    if msg.is_multipart():
        for part in msg.iter_parts():
            parts.append({"content_type": part.get_content_type(),
                          "charset": part.get_content_charset(),
                          "cte": part.get("Content-Transfer-Encoding", ""),
                          "text": part.get_content()})
    else:
        parts.append({"content_type": msg.get_content_type(), "text": msg.get_content()})
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    return {
        "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
        "raw_subject": msg.get("Subject").__class__.__name__ if msg["Subject"] is not None else None,
        "from": str(msg["From"]) if msg["From"] is not None else None,
        "from_display_name": msg["From"].addresses[0].display_name if msg["From"] is not None else None,
        "from_addr_spec": msg["From"].addresses[0].addr_spec if msg["From"] is not None else None,
        "to": str(msg["To"]) if msg["To"] is not None else None,
        "date": str(msg["Date"]) if msg["Date"] is not None else None,
        "date_parsed": msg["Date"].datetime.isoformat() if msg["Date"] is not None and msg["Date"].datetime else None,
        "message_id": msg["Message-ID"],
        "mime_version": msg["MIME-Version"],
        "content_type": msg.get_content_type(),
        "list_unsubscribe": msg["List-Unsubscribe"],
        "list_unsubscribe_post": msg["List-Unsubscribe-Post"],
        "parts": parts,
        "defects": [type(d).__name__ for d in msg.defects],
        "bare_lf": any(not l.endswith(b"\r") for l in lines[:-1]),
        "max_line": max(len(l.rstrip(b"\r")) for l in lines),
        "max_header_line": max(len(l) for l in header_lines),
        "header_names": [k for k in msg.keys()],
    }


class Handler:
    def __init__(self, out, script):
        self.out = out
        self.script = script
        self.count = 0
        self.sessions = set()

    def scripted(self, stage, address):
        """A string answers every time; a list is used up in order, then the message is accepted."""
        reply = self.script.get(stage, {}).get(address)
        if isinstance(reply, list):
            return reply.pop(0) if reply else None
        return reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.scripted("rcpt", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            reply = self.scripted("data", rcpt)
            if reply:
                return reply
        self.count += 1
        n = self.count
        self.sessions.add(id(session))
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        base = os.path.join(self.out, f"{n:05d}")
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        summary = summarize(raw)
        summary["envelope_from"] = envelope.mail_from
        summary["envelope_to"] = envelope.rcpt_tos
        summary["tls"] = session.ssl is not None
        summary["sessions"] = len(self.sessions)  # SMTP connections that carried mail so far
        with open(base + ".json.tmp", "w") as f:
            json.dump(summary, f, ensure_ascii=False)
        os.rename(base + ".json.tmp", base + ".json")
        return f"250 2.0.0 OK queued as Q{n:05d}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--script")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    script = {}
    if args.script:
        with open(args.script) as f:
            script = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    handler = Handler(args.out, script)
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(handler, hostname="standin.test", tls_context=tls, require_starttls=tls is not None,
                    data_size_limit=10 * 1024 * 1024, decode_data=False)

    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", 0))
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
