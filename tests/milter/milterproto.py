"""The milter protocol (version 6) spoken from the MTA's side, by hand, for
tests that miltertest cannot express: several sessions interleaved, MTAs
that offer different options, partial commands, many concurrent sessions.
(/usr/bin/python3)

A Session negotiates like Postfix 3.x by default (every no-reply step,
macro lists) or like an older MTA (offer=OLD_MTA: no no-reply steps, no
macro requests), then sends commands; a step the filter negotiated as
"no reply" is not waited for, as an MTA does.
"""
import socket
import struct

# actions (SMFIF_*) and protocol steps (SMFIP_*) of libmilter's mfdef.h
SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_QUARANTINE, SMFIF_SETSYMLIST = 0x01, 0x10, 0x20, 0x100
SMFIP_NR_HDR, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT = 0x80, 0x2000, 0x4000, 0x8000
SMFIP_NR_CONN = 0x1000
SMFIP_NR_EOH, SMFIP_NR_BODY, SMFIP_HDR_LEADSPC = 0x40000, 0x80000, 0x100000

POSTFIX = (0x1ff, 0x1fffff)       # Postfix 3.x: every action, step and no-reply flag
OLD_MTA = (0xff, 0x3ff)           # no macro requests (SMFIF_SETSYMLIST), no no-reply steps

def connect(spec, timeout=10):
    kind, _, rest = spec.partition(":")
    if kind in ("unix", "local"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(rest)
    else:
        port, _, host = rest.partition("@")
        fam = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((host or "127.0.0.1", int(port)))
    return s


def packet(cmd, data=b""):
    body = cmd + data
    return struct.pack("!I", len(body)) + body


class Closed(Exception):
    pass


class Session:
    def __init__(self, spec, offer=POSTFIX, timeout=20):
        self.sock = connect(spec, timeout)
        self.offer = offer
        self.actions = self.steps = 0

    def send(self, cmd, data=b""):
        self.sock.sendall(packet(cmd, data))

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise Closed("the filter closed the connection")
            data += chunk
        return data

    def reply(self):
        """(command byte, data) of the filter's next reply."""
        n = struct.unpack("!I", self._read(4))[0]
        body = self._read(n)
        return body[:1], body[1:]

    def negotiate(self):
        self.send(b"O", struct.pack("!III", 6, self.offer[0], self.offer[1]))
        cmd, data = self.reply()
        assert cmd == b"O", cmd
        _, self.actions, self.steps = struct.unpack("!III", data[:12])
        return self.actions, self.steps

    def _step(self, cmd, data, nr_flag):
        self.send(cmd, data)
        if nr_flag and self.steps & nr_flag:
            return None
        return self.reply()

    def macro(self, for_cmd, pairs):
        data = for_cmd
        for k, v in pairs.items():
            data += k.encode() + b"\0" + v.encode() + b"\0"
        self.send(b"D", data)

    def conn(self, hostname="client.test", ip="192.0.2.10"):
        fam = b"6" if ":" in ip else b"4"
        return self._step(b"C", hostname.encode() + b"\0" + fam + struct.pack("!H", 25) +
                          ip.encode() + b"\0", SMFIP_NR_CONN)

    def helo(self, name="client.test"):
        return self._step(b"H", name.encode() + b"\0", SMFIP_NR_HELO)

    def mail(self, sender):
        return self._step(b"M", sender.encode() + b"\0", SMFIP_NR_MAIL)

    def rcpt(self, rcpt):
        return self._step(b"R", rcpt.encode() + b"\0", SMFIP_NR_RCPT)

    def data(self):
        return self._step(b"T", b"", 0)

    def header(self, name, value):
        if isinstance(value, str):
            value = value.encode("latin-1")
        return self._step(b"L", name.encode() + b"\0" + value + b"\0", SMFIP_NR_HDR)

    def eoh(self):
        return self._step(b"N", b"", SMFIP_NR_EOH)

    def body(self, chunk):
        return self._step(b"B", chunk, SMFIP_NR_BODY)

    def eom(self, send=True):
        """Sends end of message (unless already sent); returns (final reply,
        [modification replies])."""
        if send:
            self.send(b"E")
        mods = []
        while True:
            cmd, data = self.reply()
            if cmd in (b"h", b"i", b"m", b"q"):       # add/insert/change header, quarantine
                mods.append((cmd, data))
                continue
            return (cmd, data), mods

    def message(self, headers, body, sender="<sender@example.com>", rcpt="<rcpt@example.net>",
                qid="QID1"):
        """One transaction on an open session. Returns (final reply, added
        header fields {name: value}, all modification replies)."""
        self.macro(b"M", {"i": qid})
        self.mail(sender)
        self.rcpt(rcpt)
        self.data()
        for name, value in headers:
            if not self.steps & SMFIP_HDR_LEADSPC:
                value = value[1:] if value[:1] == " " else value
            self.header(name, value)
        self.eoh()
        for i in range(0, len(body), 65535):
            self.body(body[i:i + 65535])
        final, mods = self.eom()
        added = {}
        for cmd, data in mods:
            if cmd in (b"h", b"i"):
                if cmd == b"i":
                    data = data[4:]             # index of the inserted field
                name, _, value = data.partition(b"\0")
                added[name.decode()] = value.rstrip(b"\0").decode("latin-1")
        return final, added, mods

    def close(self):
        try:
            self.send(b"Q")
        except OSError:
            pass
        self.sock.close()
