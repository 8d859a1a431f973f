"""Webhook calls in each vendor's format, signed as each vendor documents, and what their replies mean.

- webhook (generic): JSON {id, kind, subject, body, link, rows, ref, sent_at}; when a secret is set,
  `X-KPI-Timestamp: <unix seconds>` and `X-KPI-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
- wecom (企业微信 group robot): msgtype markdown; a reply with errcode ≠ 0 is a failure.
- dingtalk (钉钉 robot): msgtype markdown; signed by `timestamp` (ms) and `sign` query parameters,
  sign = urlencode(base64(HMAC-SHA256(key=secret, "timestamp\\nsecret"))); errcode ≠ 0 is a failure.
- feishu / lark (飞书 bot): msg_type post; `timestamp` (s) and `sign` in the body,
  sign = base64(HMAC-SHA256(key="timestamp\\nsecret", empty message)); code ≠ 0 is a failure.
- slack (incoming webhook): text and blocks; anything but HTTP 2xx is a failure.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from kpi_core.model.channel import Channel
from kpi_core.model.notice import Notice

MAX_ROWS = 20  # rows shown in a chat message; the generic webhook carries them all


class SendFailed(Exception):
    """A send that did not succeed; the text is safe to store (no secret, no URL)."""


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def absolute(link: str | None, base: str | None) -> str | None:
    """An app-relative link made absolute with the app's base URL (KPI_BASE_URL), when one is set."""
    if not link:
        return None
    if link.startswith(("http://", "https://")) or not base:
        return link
    return base.rstrip("/") + "/" + link.lstrip("/")


def hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def row_lines(rows: tuple[dict, ...]) -> list[str]:
    """A table as lines a chat shows: "key: value · key: value"."""
    lines = ["· ".join(f"{k}: {'' if v is None else v}" for k, v in r.items()) for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"… (+{len(rows) - MAX_ROWS})")
    return lines


def markdown_text(notice: Notice, link: str | None) -> str:
    parts = [notice.body, *(f"- {line}" for line in row_lines(notice.rows))]
    if link:
        parts.append(f"[{link}]({link})")
    return "\n".join(parts)


def _json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")


def build(ch: Channel, notice: Notice, secret: str | None, *, at: dt.datetime, base: str | None,
          ident: str | None = None) -> Request:
    """The HTTP request for a notice through a webhook channel. `ident` (the outbox id) lets a
    generic receiver drop a repeat: a message is sent at least once, and retried after a timeout."""
    link = absolute(notice.link, base)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    url = ch.url or ""
    if ch.kind == "webhook":
        body = _json({"id": ident, "kind": notice.kind, "subject": notice.subject, "body": notice.body, "link": link,
                      "rows": list(notice.rows), "ref": notice.ref, "sent_at": at.isoformat()})
        if secret:
            ts = str(int(at.timestamp()))
            headers |= {"X-KPI-Timestamp": ts, "X-KPI-Signature": generic_signature(secret, ts, body)}
    elif ch.kind == "wecom":
        body = _json({"msgtype": "markdown",
                      "markdown": {"content": f"**{notice.subject}**\n{markdown_text(notice, link)}"}})
    elif ch.kind == "dingtalk":
        text = f"### {notice.subject}\n{markdown_text(notice, link)}"
        body = _json({"msgtype": "markdown", "markdown": {"title": notice.subject, "text": text}})
        if secret:
            ts = str(int(at.timestamp() * 1000))
            sign = hmac_b64(secret.encode(), f"{ts}\n{secret}".encode())
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"timestamp": ts, "sign": sign})
    elif ch.kind in ("feishu", "lark"):
        lines = [notice.body, *row_lines(notice.rows)]
        content = [[{"tag": "text", "text": line}] for line in "\n".join(lines).split("\n")]
        if link:
            content.append([{"tag": "a", "text": link, "href": link}])
        data: dict = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": notice.subject, "content": content}}}}
        if secret:
            ts = str(int(at.timestamp()))
            data = {"timestamp": ts, "sign": hmac_b64(f"{ts}\n{secret}".encode(), b"")} | data
        body = _json(data)
    elif ch.kind == "slack":
        blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": notice.subject[:150]}},
                              {"type": "section", "text": {"type": "mrkdwn", "text": slack_text(
                                  "\n".join([notice.body, *row_lines(notice.rows)]))[:3000]}}]
        if link:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{slack_text(link)}>"}]})
        body = _json({"text": slack_text(f"{notice.subject}\n{notice.body}"), "blocks": blocks})
    else:
        raise ValueError(f"not a webhook kind: {ch.kind}")
    return Request(url, body, headers)


def slack_text(text: str) -> str:
    """Text as Slack shows it literally: &, < and > escaped, so no mention or link is made from it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post(ch: Channel, request: Request) -> str:
    """Send the request; the reply's text (shortened), or SendFailed saying why in words safe to store."""
    req = urllib.request.Request(request.url, data=request.body, headers=request.headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=ch.timeout) as reply:  # noqa: S310 (http(s) only: model checks)
            text = reply.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        said = exc.read(300).decode("utf-8", "replace") if exc.fp else ""
        raise SendFailed(f"HTTP {exc.code}: {said}".strip()) from None
    except urllib.error.URLError as exc:
        raise SendFailed(f"{type(exc.reason).__name__}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from None
    vendor_error(ch.kind, text)
    return text[:300]


def vendor_error(kind: str, text: str) -> None:
    """A 200 reply that says the vendor refused the message (errcode / code ≠ 0) is a failure."""
    if kind not in ("wecom", "dingtalk", "feishu", "lark"):
        return
    try:
        reply = json.loads(text)
    except ValueError:
        return
    if not isinstance(reply, dict):
        return
    code = reply.get("errcode") if kind in ("wecom", "dingtalk") else reply.get("code", reply.get("StatusCode"))
    if code not in (None, 0, "0"):
        message = reply.get("errmsg") if kind in ("wecom", "dingtalk") else reply.get("msg", reply.get("StatusMessage"))
        raise SendFailed(f"{kind} error {code}: {message}")
