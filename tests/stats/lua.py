"""miltertest scripts for many messages in one process (/usr/bin/python3):
burst() loops over n transactions, one connection each, as an MTA would
send them, and echoes "EOM <reply>" per message. Spawning one miltertest
per message would measure process start-up, not the filter."""
from milter import _lua_str


def burst(sock, n, tag, headers, body, ip="192.0.2.10", helo="mail.good.test",
          mail_from="<b@good.test>", tls=True):
    """headers: [(name, value)] as mail.split() gives them; body: bytes."""
    hdr_lines = []
    for name, value in headers:
        if value[:1] == " ":
            value = value[1:]
        hdr_lines.append("  mt.header(conn, %s, %s)" % (_lua_str(name), _lua_str(value)))
    macros = '"i", %s .. i' % _lua_str(tag)
    if tls:
        macros += ', "{tls_version}", "TLSv1.3", "{cipher}", "TLS_AES_256_GCM_SHA384"'
    lines = [
        "for i = 1, %d do" % n,
        "  local conn = mt.connect(%s, 40, 0.25)" % _lua_str(sock),
        '  if conn == nil then error("cannot connect to the filter") end',
        "  mt.set_timeout(60)",
        "  mt.conninfo(conn, %s, %s)" % (_lua_str("client.test"), _lua_str(ip)),
        "  mt.helo(conn, %s)" % _lua_str(helo),
        "  mt.macro(conn, SMFIC_MAIL, %s)" % macros,
        "  mt.mailfrom(conn, %s)" % _lua_str(mail_from),
        '  mt.rcptto(conn, "<rcpt@example.net>")',
    ] + hdr_lines + [
        "  mt.eoh(conn)",
        "  mt.bodystring(conn, %s)" % _lua_str(body),
        "  mt.eom(conn)",
        '  mt.echo("EOM " .. string.char(mt.getreply(conn)))',
        "  mt.disconnect(conn)",
        "end",
        "",
    ]
    return "\n".join(lines)
