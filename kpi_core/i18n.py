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
    # frame and shared filters
    "cockpit": {"zh": "驾驶舱", "en": "Cockpit"},
    "metric_center": {"zh": "指标中心", "en": "Metric center"},
    "upload": {"zh": "数据上报", "en": "Upload data"},
    "targets_page": {"zh": "目标管理", "en": "Targets"},
    "admin": {"zh": "组织与设置", "en": "Org & settings"},
    "org_unit": {"zh": "组织单元", "en": "Org unit"},
    "period": {"zh": "期间", "en": "Period"},
    "bad_link": {"zh": "链接中的位置无效：{what}；已回到默认位置。", "en": "The link's place is not valid: {what}; "
                 "showing the default."},
    # statuses
    "status_green": {"zh": "达标", "en": "On target"},
    "status_amber": {"zh": "预警", "en": "At risk"},
    "status_red": {"zh": "未达标", "en": "Off target"},
    "status_no_data": {"zh": "无数据", "en": "No data"},
    "status_no_target": {"zh": "无目标", "en": "No target"},
    # cockpit
    "metric": {"zh": "指标", "en": "Metric"},
    "actual": {"zh": "实际", "en": "Actual"},
    "target": {"zh": "目标", "en": "Target"},
    "attainment": {"zh": "达成率", "en": "Attainment"},
    "status": {"zh": "状态", "en": "Status"},
    "rule": {"zh": "着色规则", "en": "Colour rule"},
    "vs_previous": {"zh": "较上期", "en": "vs previous period"},
    "vs_last_year": {"zh": "同比", "en": "vs last year"},
    "total_score": {"zh": "综合得分", "en": "Overall score"},
    "grade": {"zh": "等级", "en": "Grade"},
    "score_hint": {"zh": "综合得分为四个平衡计分卡维度得分的平均值；维度得分为其指标得分的平均值"
                         "（得分 = 100 × 达成率，封顶 120）。",
                   "en": "The overall score is the mean of the four BSC perspectives' scores; a perspective's "
                         "score is the mean of its metrics' scores (score = 100 × attainment, capped at 120)."},
    "headline": {"zh": "核心指标", "en": "Headline KPIs"},
    "heat_map": {"zh": "达成热力图", "en": "Attainment heat map"},
    "bsc_view": {"zh": "平衡计分卡", "en": "Balanced scorecard"},
    "whats_red": {"zh": "未达标清单", "en": "What is red"},
    "heat_hint": {"zh": "点击热力图中的单元或下方按钮，下钻到下一级组织。", "en": "Click a unit in the heat map, or a "
                  "button below, to drill down one level."},
    "no_children": {"zh": "该组织没有下级单元。", "en": "This unit has no units below it."},
    "no_metrics": {"zh": "还没有带平衡计分卡维度的指标。请在指标中心定义指标。", "en": "No metric has a BSC "
                   "perspective yet. Define metrics in the metric center."},
    "perspective_financial": {"zh": "财务", "en": "Financial"},
    "perspective_customer": {"zh": "客户", "en": "Customer"},
    "perspective_internal_process": {"zh": "内部流程", "en": "Internal process"},
    "perspective_learning_growth": {"zh": "学习与成长", "en": "Learning & growth"},
    "perspective_score": {"zh": "维度得分", "en": "Perspective score"},
    "nothing_red": {"zh": "本期没有未达标的指标。", "en": "Nothing is red in this period."},
    "red_since": {"zh": "连续未达标自", "en": "Red since"},
    "since_or_earlier": {"zh": "{p} 或更早", "en": "{p} or earlier"},
    # upload
    "kind": {"zh": "类型", "en": "Kind"},
    "kind_actuals": {"zh": "实际值", "en": "Actuals"},
    "kind_targets": {"zh": "目标值", "en": "Targets"},
    "year": {"zh": "年度", "en": "Year"},
    "template_title": {"zh": "① 下载填报模板", "en": "① Download a template"},
    "whole_subtree": {"zh": "包含全部下级（否则只含本单元及直接下级）", "en": "The whole subtree (else the unit "
                      "and its direct children)"},
    "download_template": {"zh": "下载 {unit} 的模板", "en": "Download the template for {unit}"},
    "upload_title": {"zh": "② 上传并检查", "en": "② Upload and check"},
    "choose_file": {"zh": "选择 Excel 或 CSV 文件", "en": "Choose an Excel or CSV file"},
    "upload_help": {"zh": "宽表（月份为列）或长表（指标、组织、期间、数值）均可；先检查，确认后才写入。",
                    "en": "Wide (months as columns) or long (metric, org, period, value); checked first, "
                          "written only when you confirm."},
    "upload_empty": {"zh": "上传文件后，这里会列出每一处错误，或将要发生的变化。", "en": "After an upload, every "
                     "error is listed here, or what the file will change."},
    "checking": {"zh": "正在检查", "en": "Checking"},
    "file_refused": {"zh": "文件无法读取：{why}。未写入任何数据。", "en": "The file cannot be read: {why}. "
                     "Nothing was written."},
    "errors_found": {"zh": "{file} 有 {n} 处错误，未写入任何数据。请修改后重新上传。",
                     "en": "{file} has {n} error(s); nothing was written. Fix them and upload again."},
    "col_row": {"zh": "行", "en": "Row"},
    "col_column": {"zh": "列", "en": "Column"},
    "col_value": {"zh": "值", "en": "Value"},
    "col_message": {"zh": "问题", "en": "Problem"},
    "download_errors": {"zh": "下载标注了错误的文件", "en": "Download the file with the errors marked"},
    "will_change": {"zh": "将有 {n} 个单元格变化（{same} 个不变），其中 {red} 个变为未达标、{green} 个变为达标。",
                    "en": "{n} cells will change ({same} unchanged); {red} turn red and {green} turn green."},
    "before": {"zh": "原值", "en": "Before"},
    "after": {"zh": "新值", "en": "After"},
    "status_before": {"zh": "原状态", "en": "Status before"},
    "status_after": {"zh": "新状态", "en": "Status after"},
    "confirm_upload": {"zh": "确认写入", "en": "Confirm and load"},
    "uploaded": {"zh": "已写入批次 {batch}（{n} 个数值）。驾驶舱已更新。", "en": "Loaded as batch {batch} ({n} "
                 "values). The cockpit shows them now."},
    "history_title": {"zh": "③ 导入历史与撤销", "en": "③ Batch history and revert"},
    "no_batches": {"zh": "还没有导入批次。", "en": "No batches yet."},
    "batch_loaded": {"zh": "有效", "en": "Loaded"},
    "batch_reverted": {"zh": "已撤销", "en": "Reverted"},
    "reason": {"zh": "原因", "en": "Reason"},
    "revert": {"zh": "撤销该批次", "en": "Revert the batch"},
    "reason_needed": {"zh": "请填写原因。", "en": "Please give a reason."},
    "reverted": {"zh": "批次 {batch} 已撤销，之前的数值已恢复。", "en": "Batch {batch} reverted; the earlier "
                 "values are back."},
}


def t(key: str, lang: str) -> str:
    """The string for `key` in `lang`, falling back to Chinese, then the key itself."""
    entry = STRINGS.get(key, {})
    return entry.get(lang) or entry.get("zh") or key
