"""UI strings in Chinese and English; code and logs stay English."""

from __future__ import annotations

LANGS = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"zh": "绩效驾驶舱", "en": "KPI Cockpit"},
    "home": {"zh": "概览", "en": "Overview"},
    "org_units": {"zh": "组织单元", "en": "Org units"},
    "metrics": {"zh": "指标", "en": "Metrics"},
    "actuals": {"zh": "实际值", "en": "Actuals"},
    "targets": {"zh": "目标值", "en": "Targets"},
    "datasets": {"zh": "数据集", "en": "Datasets"},
    "recent_batches": {"zh": "最近导入批次", "en": "Recent import batches"},
    "empty_warehouse": {
        "zh": "仓库还是空的。运行 `python -m kpi_core init --demo` 载入演示公司，或导入组织、指标和数据。",
        "en": "The warehouse is empty. Run `python -m kpi_core init --demo` to load the demo company, "
              "or import an org tree, metrics and data.",
    },
    "busy": {"zh": "仓库正忙（正在导入），请稍后刷新。", "en": "The warehouse is busy (an import is running); "
             "refresh in a moment."},
    "data_version": {"zh": "数据版本", "en": "Data version"},
    "col_id": {"zh": "批次", "en": "Batch"},
    "col_kind": {"zh": "类型", "en": "Kind"},
    "col_dataset": {"zh": "数据集", "en": "Dataset"},
    "col_source": {"zh": "来源", "en": "Source"},
    "col_user_name": {"zh": "导入人", "en": "By"},
    "col_created_at": {"zh": "时间", "en": "Time"},
    "col_rows_loaded": {"zh": "行数", "en": "Rows"},
    "col_status": {"zh": "状态", "en": "Status"},
}


def t(key: str, lang: str) -> str:
    """The string for `key` in `lang`, falling back to Chinese, then the key itself."""
    entry = STRINGS.get(key, {})
    return entry.get(lang) or entry.get("zh") or key
