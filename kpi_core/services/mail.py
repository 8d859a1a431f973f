"""E-mail through an SMTP channel: the subject, a plain-text body and an HTML version with the
rows as a table, and the attachments; sent with smtplib (plain, STARTTLS or SSL, login when a
user name is given)."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from kpi_core.model.channel import Channel
from kpi_core.model.notice import Notice
from kpi_core.services.webhooks import SendFailed, absolute


def text_table(rows: tuple[dict, ...]) -> str:
    """The rows as aligned plain text."""
    if not rows:
        return ""
    heads = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[str(h) for h in heads]] + [["" if r.get(h) is None else str(r.get(h)) for h in heads] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(heads))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(heads))).rstrip() for c in cells)


def _cell(v: object) -> str:
    return "" if v is None else str(v)


def html_table(rows: tuple[dict, ...]) -> str:
    """The rows as an HTML table, every cell escaped."""
    if not rows:
        return ""
    heads = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th style='text-align:left;padding:4px 8px;border-bottom:1px solid #ccc'>{html.escape(str(h))}"
                   "</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td style='padding:4px 8px'>{html.escape(_cell(r.get(h)))}</td>"
                                    for h in heads) + "</tr>" for r in rows)
    return f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def message(ch: Channel, notice: Notice, address: str, *, base: str | None) -> EmailMessage:
    """The e-mail for one address."""
    link = absolute(notice.link, base)
    msg = EmailMessage()
    msg["Subject"] = notice.subject
    msg["From"] = ch.sender
    msg["To"] = address
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=(ch.sender or "kpi").rpartition("@")[2] or None)
    text = "\n\n".join(p for p in (notice.body, text_table(notice.rows), link or "") if p)
    msg.set_content(text)
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in notice.body.split("\n") if line.strip())
    anchor = f"<p><a href='{html.escape(link, quote=True)}'>{html.escape(link)}</a></p>" if link else ""
    msg.add_alternative(f"<html><body><h3>{html.escape(notice.subject)}</h3>{paragraphs}"
                        f"{html_table(notice.rows)}{anchor}</body></html>", subtype="html")
    for a in notice.attachments:
        main, _, sub = a.mime.partition("/")
        msg.add_attachment(a.content, maintype=main or "application", subtype=sub or "octet-stream", filename=a.name)
    return msg


def send(ch: Channel, msg: EmailMessage, password: str | None) -> None:
    """Send through the channel's server; SendFailed in words safe to store (never the password)."""
    try:
        if ch.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(ch.host or "", ch.smtp_port, timeout=ch.timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(ch.host or "", ch.smtp_port, timeout=ch.timeout)
        with server:
            if ch.security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if ch.username:
                if not password:
                    raise SendFailed("no SMTP password is set for this channel")
                server.login(ch.username, password)
            refused = server.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailed(f"SMTP login refused ({exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"SMTP {exc.smtp_code}: {_said(exc.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailed(f"SMTP refused the recipient: {', '.join(exc.recipients)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from None
    if refused:
        raise SendFailed(f"SMTP refused the recipient: {', '.join(refused)}")


def _said(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))[:300]
