"""Write the example upload files in data/examples/ (run: python data/examples/make_examples.py).

They use the demo company's org and metric codes and the year 2026, the way team leads make
such files: a wide Chinese template with a title row and merged headers, a long English
file, a GBK CSV of targets, and a broken file whose errors tests/test_examples.py lists.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

HERE = Path(__file__).resolve().parent
MONTHS = 11  # Jan..Nov 2026 filled in


def wide_chinese_template(path: Path) -> None:
    """华东事业部 team leads' monthly sheet: title row, a note, two header rows with merges."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2026年"
    ws["A1"] = "华东销售事业部 2026年 团队月度实绩填报"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=5 + MONTHS)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = "填报说明：请按月填写实际完成值；百分比可写 98.5% 或 0.985；空白表示未填报。"
    for col, text in enumerate(["组织编码", "组织名称", "指标编码", "指标名称", "单位"], 1):
        ws.cell(row=3, column=col, value=text)
        ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
    ws.cell(row=3, column=6, value="2026年")
    ws.merge_cells(start_row=3, start_column=6, end_row=3, end_column=5 + MONTHS)
    for m in range(1, MONTHS + 1):
        ws.cell(row=4, column=5 + m, value=f"{m}月")
    fill = PatternFill("solid", fgColor="DDEBF7")
    for row in ws.iter_rows(min_row=3, max_row=4):
        for cell in row:
            cell.font = Font(bold=True)
            cell.fill = fill
            cell.alignment = Alignment(horizontal="center", vertical="center")
    rows = [
        ("D1-SAL-T1", "华东销售一组", "headcount", "人数", "人", [12, 12, 13, 13, 14, 14, 14, 15, 15, 15, 16]),
        ("D1-SAL-T2", "华东销售二组", "headcount", "人数", "人", [9, 9, 9, 10, 10, 10, 11, 11, 11, 11, 11]),
        ("D1-SAL-T3", "华东销售三组", "headcount", "人数", "人", [15, 15, 14, 14, 14, 13, 13, 13, 13, 14, 14]),
        ("D1-WH-T1", "华东仓储一组", "safety_incidents", "安全事故数", "起", [0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0]),
        ("D1-SAL", "华东销售部", "budget_utilization", "预算执行率", "%",
         ["97.5%", "98.2%", "99.0%", "101.3%", "96.8%", "98.0%", "99.4%", "100.2%", "97.9%", "98.8%", "99.1%"]),
        ("D1-CS", "华东客户服务部", "customer_complaints", "客户投诉数", "件",
         [5, 3, 4, "6", 2, 3, 4, 5, 3, 2, None]),
    ]
    for r, (code, name, metric, mname, unit, values) in enumerate(rows, start=5):
        for c, v in enumerate([code, name, metric, mname, unit, *values], start=1):
            ws.cell(row=r, column=c, value=v)
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["D"].width = 14
    wb.save(path)


def long_english(path: Path) -> None:
    """Finance's long file: one fact per row, mixed period and number formats."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Actuals"
    ws.append(["Metric", "Org Unit", "Period", "Actual", "Comment"])
    facts = [
        ("min_cash_balance", "D1", "2026-01", "182,500,000", ""),
        ("min_cash_balance", "D1", "2026/2", 176300000, ""),
        ("min_cash_balance", "D2", "2026年3月", "(1,200,000)", "overdraft at month end"),
        ("supplier_on_time_rate", "D3-PUR", "Mar 2026", "94.5%", ""),
        ("supplier_on_time_rate", "D4-PUR", "2026-03", 0.962, ""),
        ("employee_turnover_rate", "D1-HR", "2026-03", "１.２%", "full-width digits typed on a Chinese IME"),
        ("employee_engagement", "D1-HR", "2026Q1", 78.5, "quarterly survey"),
        ("new_patents", "D3-RD", "2026年第1季度", 3, ""),
    ]
    for f in facts:
        ws.append(list(f))
    wb.save(path)


def gbk_targets(path: Path) -> None:
    """A CSV saved by Excel on a Chinese Windows machine (GBK), targets at several grains."""
    lines = [
        "指标编码,组织编码,期间,目标值",
        "headcount,D1-SAL-T1,2027,16",
        "budget_utilization,D1-SAL,2027,100%",
        "customer_complaints,D1-CS,2027-Q1,9",
        "customer_complaints,D1-CS,2027-Q2,8",
        "safety_incidents,D1-WH-T1,2027,0",
        "revenue,D1,2027,\"1,250,000,000\"",
        "gross_margin,D1,2027,32%",
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def broken(path: Path) -> None:
    """Every kind of mistake a team lead makes; tests/test_examples.py lists the errors."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2026年"
    ws.append(["2026年 实绩填报（含错误，用于演示校验）"])
    ws.append(["指标", "组织", "期间", "实际值"])
    rows = [
        ("headcount", "D1-SAL-T1", "2026-01", 12),              # 3 fine
        ("headcnt", "D1-SAL-T1", "2026-01", 12),                # 4 unknown metric
        ("headcount", "D9-XXX", "2026-01", 12),                 # 5 unknown org
        ("headcount", "D1-SAL-T2", "2026-01", "十二"),          # 6 text in a number cell
        ("headcount", "D1-SAL-T3", "2026-Q1", 14),              # 7 quarter for a monthly metric
        ("revenue", "D1-SAL", "2026-01", 1000000),              # 8 dataset metric: computed
        ("gross_margin", "D1", "2026-01", 0.3),                 # 9 formula metric: computed
        ("headcount", "D1-SAL-T1", "2026-01", 13),              # 10 duplicate of row 3
        ("supplier_on_time_rate", "D3-PUR", "2026-01", 95),     # 11 95 for a 0..1 fraction
        ("headcount", "D1-SAL-T1", "2026-13", 12),              # 12 no such month
        ("headcount", "D1-SAL-T1", "2026-02", -3),              # 13 negative headcount
    ]
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def main() -> None:
    wide_chinese_template(HERE / "团队月度实绩_宽表_2026.xlsx")
    long_english(HERE / "actuals_long_en.xlsx")
    gbk_targets(HERE / "targets_gbk.csv")
    broken(HERE / "broken_actuals.xlsx")


if __name__ == "__main__":
    main()
