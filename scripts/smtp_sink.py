"""An SMTP server that keeps what it receives: each message is written to FOLDER/NNNN.eml
(first the envelope as X-Sink-Mail-From / X-Sink-Rcpt-To header lines, then the message as
received). Listens on 127.0.0.1:PORT until stopped; prints nothing.

Usage: python smtp_sink.py PORT FOLDER   (see scripts/smtp-sink)
"""

import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            number = self.count
        name = os.path.join(self.folder, f"{number:04d}.eml")
        head = f"X-Sink-Mail-From: {envelope.mail_from}\r\nX-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        # Written under a temporary name first, so a reader never sees half a message.
        with open(name + ".part", "wb") as out:
            out.write(head.encode("utf-8") + content)
        os.rename(name + ".part", name)
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    folder = sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
