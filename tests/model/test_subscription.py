"""Subscriptions: checks with readable problems, and when a scheduled one is due."""

import datetime as dt

import pytest

from kpi_core.model.subscription import Subscription, is_due, last_due, parse

UTC = dt.UTC


@pytest.mark.parametrize(("item", "zh", "en"), [
    ({"user": "ceo"}, "订阅要指明一个看板", "names exactly one thing"),
    ({"user": "ceo", "board": "b", "cockpit": "HQ"}, "订阅要指明一个看板", "names exactly one thing"),
    ({"user": "ceo", "board": "b", "at": "8:00"}, "实际为 '8:00'", "got '8:00'"),
    ({"user": "ceo", "board": "b", "schedule": "hourly"}, "发送频率必须是", "schedule must be one of"),
    ({"user": "ceo", "board": "b", "day": 31}, "每月几号", "day of the month"),
    ({"user": "ceo", "board": "b", "weekdy": "mon"}, "“weekday”", "'weekday'"),
    ({"user": "", "board": "b"}, "用户", "user"),
])
def test_a_bad_subscription_is_named_in_both_languages(item, zh, en):
    subs, problems = parse([item], "s.yaml")
    assert subs == [] and len(problems) == 1
    assert zh in problems[0].render("zh") and "s.yaml" in problems[0].render("zh")
    assert en in problems[0].render("en")


def test_the_same_subscription_twice_is_refused():
    _subs, problems = parse([{"user": "a", "board": "b"}, {"user": "a", "board": "b", "schedule": "daily"}], "f")
    assert [p.code for p in problems] == ["model_subscription_repeated"]


MON_0900 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(("fields", "now", "expected"), [
    ({"schedule": "daily", "at": "08:00"}, MON_0900, dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
    ({"schedule": "daily", "at": "10:00"}, MON_0900, dt.datetime(2026, 11, 29, 10, 0, tzinfo=UTC)),
    ({"schedule": "weekly", "weekday": "mon", "at": "09:00"}, MON_0900, MON_0900),
    ({"schedule": "weekly", "weekday": "fri", "at": "08:00"}, MON_0900, dt.datetime(2026, 11, 27, 8, 0, tzinfo=UTC)),
    ({"schedule": "monthly", "day": 1, "at": "08:00"}, MON_0900, dt.datetime(2026, 11, 1, 8, 0, tzinfo=UTC)),
    ({"schedule": "monthly", "day": 28, "at": "08:00"}, dt.datetime(2026, 3, 1, tzinfo=UTC),
     dt.datetime(2026, 2, 28, 8, 0, tzinfo=UTC)),
    ({"schedule": "after_import"}, MON_0900, None),
])
def test_the_last_scheduled_moment(fields, now, expected):
    assert last_due(Subscription(user="u", board="b", **fields), now) == expected


@pytest.mark.parametrize(("since", "due"), [
    (dt.datetime(2026, 11, 30, 7, 0, tzinfo=UTC), True),    # the 08:00 moment came after the last send
    (dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC), False),   # sent at that moment: not again
    (dt.datetime(2026, 11, 30, 8, 30, tzinfo=UTC), False),  # made after it: waits for tomorrow
])
def test_a_daily_subscription_is_due_once_per_moment(since, due):
    assert is_due(Subscription(user="u", board="b", schedule="daily", at="08:00"), MON_0900, since) is due
