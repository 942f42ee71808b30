#!/usr/bin/python3
"""A mailing list as Postfix's pipe(8) runs one: the post on stdin, tagged
("[team] " before the Subject), marked (List-Id) and given a footer, is
sent on from the list's own envelope over SMTP to the list host's
re-injection port, where the sealing milter sees it.

    mailing_list.py PORT LIST-ADDRESS BOUNCES SUBSCRIBER...

Exit 75 (EX_TEMPFAIL) when the re-injection fails: Postfix keeps the post.
"""
import re
import smtplib
import sys


def main():
    port, list_addr, bounces = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    subscribers = sys.argv[4:]
    msg = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, _, body = msg.partition(b"\r\n\r\n")
    head = re.sub(rb"(?im)^Subject:[ \t]*", b"Subject: [team] ", head, count=1)
    head += b"\r\nList-Id: <%s>" % list_addr.replace("@", ".").encode()
    body += b"-- \r\nteam mailing list: %s\r\n" % list_addr.encode()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.sendmail(bounces, subscribers, head + b"\r\n\r\n" + body)
    except (OSError, smtplib.SMTPException) as e:
        print("list: re-injection failed: %s" % e, file=sys.stderr)
        return 75
    return 0


if __name__ == "__main__":
    sys.exit(main())
