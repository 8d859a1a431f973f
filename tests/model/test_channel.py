"""Channel definitions (kpi_core/model/channel.py): what each kind needs, refused with readable zh/en messages."""

import pytest

from kpi_core.model.channel import Channel, parse

HOOK = {"name": "ops_hook", "kind": "webhook", "url": "http://127.0.0.1:9000/hook", "secret_env": "KPI_HOOK_SECRET"}
MAIL = {"name": "mail", "kind": "email", "host": "127.0.0.1", "port": 1025, "sender": "kpi@example.com"}


@pytest.mark.parametrize("raw", [
    HOOK,
    MAIL,
    {"name": "ding", "kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=x"},
    {"name": "fs", "kind": "feishu", "url": "https://open.feishu.cn/open-apis/bot/v2/hook/x", "timeout": 3},
    {"name": "wx", "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x"},
    {"name": "sl", "kind": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
    {"name": "smtp", "kind": "email", "host": "smtp.example.com", "sender": "a@example.com", "username": "a",
     "password_env": "SMTP_PW", "security": "starttls", "to": ["ops@example.com"], "default": True},
])
def test_a_valid_definition_is_kept_as_written(raw):
    [ch], problems = parse([raw])
    assert problems == []
    assert ch.definition() == raw


@pytest.mark.parametrize(("raw", "en", "zh"), [
    ({**HOOK, "name": "Ops"}, "channel Ops: the channel's name may hold only lowercase letters",
     "渠道 Ops：渠道名称只能用小写字母"),
    ({**HOOK, "kind": "fax"}, "the kind must be one of: webhook, wecom, dingtalk, feishu, lark, slack, email "
     "(got 'fax')", "类型必须是：通用 JSON 回调"),
    ({"name": "w", "kind": "dingtalk"}, "a DingTalk robot needs `url`", "钉钉机器人需要填写 `url`"),
    ({**HOOK, "url": "ftp://x"}, "`url` must start with http:// or https://", "`url` 必须以"),
    ({**HOOK, "secret_env": "1X"}, "the signing secret's environment variable: '1X' is not an environment variable",
     "签名密钥所在的环境变量：“1X”不是环境变量名"),
    ({**HOOK, "host": "h"}, "a generic JSON webhook takes no e-mail fields", "通用 JSON 回调不能填写邮件字段"),
    ({**MAIL, "host": None}, "an e-mail channel needs `host`", "邮件渠道需要填写 `host`"),
    ({**MAIL, "sender": "nobody"}, "'nobody' is not an e-mail address", "“nobody”不是电子邮件地址"),
    ({**MAIL, "to": ["ok@example.com", "a b@c.d"]}, "'a b@c.d' is not an e-mail address", "不是电子邮件地址"),
    ({**MAIL, "password_env": "PW"}, "`password_env` needs `username`", "就需要 `username`"),
    ({**MAIL, "port": 70000}, "channel mail: the port", "渠道 mail：端口"),
    ({**MAIL, "security": "tls"}, "the connection security must be one of", "连接加密方式必须是"),
    ({**MAIL, "colour": "red"}, "colour: unknown field", "colour："),
    ({**MAIL, "url": "http://x"}, "an e-mail channel takes no `url`", "邮件渠道不能填写 `url`"),
    ("just text", "channels[1]: a channel must be a mapping", "channels[1]：渠道必须是由字段组成的映射"),
])
def test_an_invalid_definition_is_refused_in_words(raw, en, zh):
    channels, problems = parse([raw])
    assert channels == []
    assert any(en in p for p in problems), problems
    assert any(zh in p.render("zh") for p in problems), [p.render("zh") for p in problems]


def test_names_are_unique_and_only_one_email_channel_is_the_default():
    _, problems = parse([HOOK, HOOK, {**MAIL, "default": True}, {**MAIL, "name": "mail2", "default": True}])
    assert [p.code for p in problems] == ["channel_defined_twice", "channel_two_defaults"]
    assert "mail, mail2" in problems[1]


@pytest.mark.parametrize(("security", "port"), [("none", 25), ("starttls", 587), ("ssl", 465)])
def test_smtp_port_defaults_by_security(security, port):
    assert Channel(name="m", kind="email", host="h", sender="a@b.cd", security=security).smtp_port == port
