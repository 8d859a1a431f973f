"""Header aliases (English and Chinese) and finding the header row below any title rows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from kpi_core.model.messages import Msg
from kpi_core.model.periods import try_parse_period
from kpi_core.model.problems import Problem

# role -> accepted header spellings, compared after normalise(); settings as data.
FACT_ROLES: dict[str, tuple[str, ...]] = {
    "metric": ("metric", "metriccode", "metricid", "kpi", "kpicode", "指标", "指标编码", "指标代码",
               "指标编号", "指标id"),
    "metric_name": ("metricname", "kpiname", "指标名称", "指标名"),
    "org": ("org", "orgcode", "orgunit", "unitcode", "department", "dept", "deptcode",
            "team", "组织", "组织编码", "组织代码", "部门", "部门编码", "部门代码", "团队", "单位编码",
            "人员编码", "工号"),
    "org_name": ("orgname", "unitname", "departmentname", "组织名称", "部门名称", "团队名称", "姓名"),
    "period": ("period", "month", "date", "期间", "月份", "月度", "年月", "时间", "日期", "统计期间"),
    "actual": ("actual", "actuals", "actualvalue", "实际值", "完成值", "实际", "实绩",
               "完成", "实际完成"),
    "value": ("value", "数值", "值"),
    "unit": ("unit", "uom", "单位", "计量单位"),
    "target": ("target", "targetvalue", "goal", "plan", "目标值", "目标", "计划值", "目标数"),
}
ORG_FILE_ROLES: dict[str, tuple[str, ...]] = {
    "code": ("code", "orgcode", "unitcode", "编码", "组织编码", "代码", "部门编码"),
    "name": ("name", "orgname", "unitname", "名称", "组织名称", "部门名称"),
    "parent": ("parent", "parentcode", "parentorg", "上级", "上级组织", "上级编码", "上级组织编码",
               "上级部门", "父级"),
}


def role_name(role: str) -> Msg:
    """What a column of this role holds, as a message names it ('metric', 'parent')."""
    return {"metric": Msg("ingest_role_metric"), "metric_name": Msg("ingest_role_metric_name"),
            "org": Msg("ingest_role_org"), "org_name": Msg("ingest_role_org_name"),
            "period": Msg("ingest_role_period"), "actual": Msg("ingest_role_actual"),
            "value": Msg("ingest_role_value"), "unit": Msg("ingest_role_unit"), "target": Msg("ingest_role_target"),
            "code": Msg("ingest_role_code"), "name": Msg("ingest_role_name"),
            "parent": Msg("ingest_role_parent")}[role]


def normalise(header: object) -> str:
    """Compare headers ignoring case, width, spaces, underscores, dashes and a unit in brackets."""
    text = unicodedata.normalize("NFKC", "" if header is None else str(header)).lower()
    text = re.sub(r"[(\[（【].*?[)\]）】]", "", text)  # '实际值(万元)' -> '实际值'
    return re.sub(r"[\s_\-:：*]+", "", text)


def role_of(header: object, roles: dict[str, tuple[str, ...]]) -> str | None:
    n = normalise(header)
    for role, names in roles.items():
        if n in names:
            return role
    return None


def header_finder(roles: dict[str, tuple[str, ...]], need: int = 2) -> Callable[[list[list[object]]], int | None]:
    """The first row naming at least `need` roles (period headers count for one)."""

    def find(rows: list[list[object]]) -> int | None:
        for i, row in enumerate(rows):
            found = {role_of(v, roles) for v in row} - {None}
            # Excel turns a typed 2025-01 into a date cell, so header cells may be dates or numbers.
            if any(try_parse_period(v, 2000) for v in row
                   if isinstance(v, str | date | int | float) and not isinstance(v, bool) and v != ""):
                found.add("period-columns")
            if len(found) >= need:
                return i
        return None

    return find


def map_roles(header: list[str], roles: dict[str, tuple[str, ...]],
              required: tuple[str, ...] = ()) -> tuple[dict[str, int], list[Problem]]:
    """Column index of each role found; a problem for each missing or repeated role."""
    found: dict[str, int] = {}
    problems = []
    for i, h in enumerate(header):
        role = role_of(h, roles)
        if role is None:
            continue
        if role in found:
            problems.append(Problem(None, h, "", Msg("ingest_two_columns_mean", role=role_name(role),
                                                     first=header[found[role]], second=h)))
            continue
        found[role] = i
    for role in required:
        if role not in found:
            names = "/".join(roles[role][:1] + tuple(n for n in roles[role] if not n.isascii())[:3])
            problems.append(Problem(None, "", "", Msg("ingest_no_role_column", names=names,
                                                      header=", ".join(h for h in header if h))))
    return found, problems


# Rows and columns that hold totals, not facts: a template's 合计 row or 全年 column. Chinese
# words may end a longer label (2026年合计); English ones must be the whole label, so that a
# metric such as sales_ytd is not mistaken for a total.
TOTAL_SUFFIXES = ("合计", "总计", "小计", "累计", "全年")
TOTAL_LABELS = ("total", "subtotal", "grandtotal", "sum", "ytd", "年度合计")

# What a unit in a header or a 单位 cell multiplies the numbers by: 实际值(万元) holds 万.
# A % or ‰ says the numbers are percentages: 95 under 达成率(%) is 0.95.
SCALES: tuple[tuple[str, float], ...] = (
    ("百万", 1e6), ("千万", 1e7), ("亿", 1e8), ("万", 1e4), ("千", 1e3),
    ("thousand", 1e3), ("million", 1e6), ("billion", 1e9), ("%", 0.01), ("‰", 0.001),
)


@lru_cache(maxsize=65536)
def is_total(text: object) -> bool:
    """A 合计/Total label (a row or column that sums others)."""
    n = normalise(text)
    return bool(n) and (n in TOTAL_LABELS or n.endswith(TOTAL_SUFFIXES))


def unit_in_brackets(header: object) -> str:
    """'万元' from '实际值(万元)'; '' when there is none."""
    text = unicodedata.normalize("NFKC", "" if header is None else str(header))
    m = re.search(r"[(\[（【]\s*(.*?)\s*[)\]）】]", text)
    return m.group(1) if m else ""


# Currencies as units write them, most specific first (美元 before 元).
CURRENCIES: tuple[tuple[str, re.Pattern], ...] = tuple((code, re.compile(p, re.I)) for code, p in (
    ("USD", r"USD|美元|US\$|\$"), ("EUR", r"EUR|欧元|€"), ("JPY", r"JPY|日元|円"), ("HKD", r"HKD|港元|港币|HK\$"),
    ("GBP", r"GBP|英镑|£"), ("CNY", r"CNY|RMB|人民币|元|¥|￥")))


def currency(unit: object) -> str | None:
    """The currency a unit names (万元 → CNY, thousand USD → USD), None for a unit that is not money."""
    text = unicodedata.normalize("NFKC", "" if unit is None else str(unit))
    return next((code for code, pattern in CURRENCIES if pattern.search(text)), None)


@dataclass(frozen=True)
class Scale:
    """What a unit written in a header or a 单位 cell says of the numbers below it."""

    factor: float = 1.0
    unit: str = ""
    currency: str | None = None  # 万元: CNY, thousand USD: USD; None when the numbers are not money

    @property
    def percent(self) -> bool:
        """A % or ‰: the numbers are percentages."""
        return self.factor < 1


@lru_cache(maxsize=4096)
def scale_of(unit: object) -> Scale:
    """The multiplier a unit label implies (万元 -> 10000, % -> 0.01), 1 for plain units such as 元, 人."""
    n = normalise(unit)
    text = unicodedata.normalize("NFKC", "" if unit is None else str(unit)).strip()
    factor = next((f for word, f in SCALES if n.startswith(word)), 1.0)
    return Scale(factor, text, currency(text))
