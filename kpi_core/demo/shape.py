"""The demo company's shape as data: its divisions, product lines, channels, seasons, and the
seeded cases the demo is built to show."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kpi_core.model.config import PROJECT_ROOT
from kpi_core.model.scorecard import ScorecardDef

COMPANY_CODE = "HQ"
COMPANY_NAME = "华锐智能制造集团"
SEED_CASE_DIVISION = "D3"
SEED_CASE_MONTHS = 6
UNMAPPED_ORG_CODE = "X-LEGACY"
UNMAPPED_ROWS = 37
BASE_ORDER_ROWS = 1_060_000
STUFFING_ORDERS_PER_QUARTER_END = 450
SEED_CASE_CHANNEL_MIX = (0.43, 0.45, 0.12)
METRICS_PATH = PROJECT_ROOT / "data" / "demo" / "metrics.yaml"

CHANNELS = ("直销", "经销", "电商")
DISTRIBUTOR = 1
STATUSES = ("completed", "cancelled", "returned")
PRODUCT_LINES = ("伺服电机", "精密减速器", "工业机器人", "数控系统", "锂电设备", "智能视觉系统", "协作机器人")
LINE_UNIT_PRICE = np.array([1_200, 2_600, 45_000, 12_000, 60_000, 6_800, 32_000], dtype=float)
LINE_ORDER_SCALE = np.array([0.5, 0.8, 4.5, 1.6, 6.0, 1.1, 3.5])
LINE_COST_RATIO = np.array([0.60, 0.55, 0.58, 0.50, 0.62, 0.45, 0.52])
LINE_LAUNCH = ((2015, 1), (2015, 1), (2015, 1), (2015, 1), (2019, 6), (2024, 3), (2025, 6))
NEW_PRODUCT_MONTHS = 36
# Order-size model: lognormal around a per-channel median, scaled per product line.
CHANNEL_MEDIAN = np.array([5_500.0, 12_000.0, 900.0])
CHANNEL_DISCOUNT = np.array([0.06, 0.17, 0.03])
CHANNEL_LEAD_DAYS = np.array([20, 12, 3])
CHANNEL_RETURN = np.array([0.015, 0.025, 0.04])
CHANNEL_AFFINITY = np.array([
    [1, 1, 1, 1, 1, 1, 1],
    [1, 1, 0.8, 1, 0.6, 1, 1],
    [1, 1, 0.03, 0.25, 0, 0.7, 0.08],
])
CANCEL_RATE = 0.03
# Calendar-month factors: Spring Festival dip in February, quarter- and year-end pushes.
SEASON = np.array([0.92, 0.66, 1.02, 0.99, 1.01, 1.10, 0.96, 0.94, 1.08, 0.97, 1.04, 1.22])

DEPT_TYPES = {
    "SAL": ("销售部", "销售"),
    "MKT": ("市场部", "市场"),
    "CS": ("客户服务部", "客服"),
    "WH": ("仓储物流部", "仓储"),
    "HR": ("人力资源部", "人事"),
    "PRD": ("生产部", "生产"),
    "QA": ("质量部", "质检"),
    "PUR": ("采购部", "采购"),
    "RD": ("研发部", "研发"),
    "FIN": ("财务部", "财务"),
    "IT": ("信息技术部", "信息"),
    "EHS": ("安全环保部", "安环"),
}
CN_NUMERALS = "一二三四五六七八九十"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰萍鹏辉玲建国俊峰红琳宇浩凯晨欣怡子涵梓轩雨婷佳琪思远"
    "嘉文博志宏海燕晓东春梅丹颖倩慧斌波鑫昊天宁亮昕瑶彤琦晗阳帆楠雪梦诗瑞泽锐诚毅睿"
)


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    short: str
    departments: tuple[tuple[str, int], ...]
    sales_weight: float = 0.0
    growth: float = 0.0
    channel_mix: tuple[float, float, float] = (1.0, 0.0, 0.0)
    product_mix: tuple[float, ...] = (1, 0, 0, 0, 0, 0, 0)
    production_lines: tuple[int, ...] = ()
    warehouses: tuple[str, ...] = ()
    satisfaction: float = 4.1
    cash_base: float = 1.0e8


DIVISIONS = (
    Division("D1", "华东销售事业部", "华东",
              (("SAL", 6), ("MKT", 2), ("CS", 3), ("WH", 3), ("HR", 1)),
              0.30, 0.06, (0.42, 0.36, 0.22), (0.25, 0.20, 0.12, 0.15, 0.05, 0.13, 0.10),
              (), ("上海仓", "苏州仓", "杭州仓"), 4.15, 1.8e8),
    Division("D2", "华南销售事业部", "华南",
              (("SAL", 5), ("MKT", 2), ("CS", 2), ("WH", 3), ("HR", 1)),
              0.28, 0.04, (0.38, 0.37, 0.25), (0.28, 0.22, 0.10, 0.14, 0.06, 0.12, 0.08),
              (), ("广州仓", "深圳仓", "东莞仓"), 4.05, 1.5e8),
    Division("D3", "智能装备事业部", "智装",
              (("PRD", 4), ("QA", 2), ("PUR", 2), ("RD", 3), ("SAL", 3), ("CS", 2), ("WH", 2)),
              0.17, 0.12, (0.55, 0.30, 0.15), (0.05, 0.05, 0.35, 0.20, 0.0, 0.20, 0.15),
              (2, 3, 5, 6), ("无锡仓", "常州仓"), 4.20, 1.2e8),
    Division("D4", "精密部件事业部", "精密",
              (("PRD", 5), ("QA", 2), ("PUR", 2), ("RD", 2), ("SAL", 3), ("WH", 2)),
              0.13, 0.03, (0.45, 0.40, 0.15), (0.45, 0.45, 0.0, 0.10, 0.0, 0.0, 0.0),
              (0, 1), ("宁波仓", "台州仓"), 4.10, 0.9e8),
    Division("D5", "新能源装备事业部", "新能源",
              (("PRD", 3), ("QA", 1), ("RD", 3), ("SAL", 3), ("CS", 1), ("WH", 2)),
              0.12, 0.20, (0.62, 0.28, 0.10), (0.20, 0.10, 0.0, 0.10, 0.45, 0.10, 0.05),
              (4, 0), ("合肥仓", "西安仓"), 3.95, 0.8e8),
    Division("D6", "集团职能中心", "集团",
              (("FIN", 3), ("HR", 2), ("IT", 3), ("EHS", 2)), cash_base=4.0e8),
)
SALES_DIVISIONS = tuple(d for d in DIVISIONS if d.sales_weight > 0)


@dataclass(frozen=True)
class DemoCompany:
    """Everything the demo company consists of, as plain data."""

    org: list[tuple[str, str, str | None]]
    metrics_yaml: str
    actuals: pa.Table
    targets: pa.Table
    datasets: dict[str, pa.Table]
    first_period: str
    last_period: str
    scorecards: tuple[ScorecardDef, ...] = ()  # each unit's own scorecard (kpi_core/demo/scorecards.py)


# ------------------------------------------------------------------ formulas
