"""UI strings in Chinese and English; code and logs stay English."""

from __future__ import annotations

import re

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
    "admin": {"zh": "管理", "en": "Admin"},
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
    "kind_org": {"zh": "组织树", "en": "Org tree"},
    "kind_dataset": {"zh": "数据集", "en": "Dataset"},
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
    "reverted": {"zh": "批次 {batch} 已撤销，之前的数值已恢复。", "en": "Batch {batch} reverted; the earlier "
                 "values are back."},
    # metric center
    "search": {"zh": "搜索", "en": "Search"},
    "search_hint": {"zh": "编码、名称、说明或标签", "en": "code, name, description or tag"},
    "any": {"zh": "全部", "en": "Any"},
    "facet_perspective": {"zh": "维度", "en": "Perspective"},
    "facet_kind": {"zh": "类别", "en": "Kind"},
    "facet_owner": {"zh": "负责人", "en": "Owner"},
    "facet_tags": {"zh": "标签", "en": "Tag"},
    "kind_result": {"zh": "结果指标", "en": "Result"},
    "kind_process": {"zh": "过程指标", "en": "Process"},
    "kind_growth": {"zh": "成长指标", "en": "Growth"},
    "n_metrics": {"zh": "{n} / {total} 个指标", "en": "{n} of {total} metrics"},
    "no_match": {"zh": "没有符合条件的指标，请放宽搜索条件。", "en": "No metric matches; widen the search."},
    "code": {"zh": "编码", "en": "Code"},
    "source": {"zh": "来源", "en": "Source"},
    "source_dataset": {"zh": "数据集计算", "en": "Computed from a dataset"},
    "source_manual": {"zh": "人工上报", "en": "Uploaded"},
    "source_formula": {"zh": "公式", "en": "Formula"},
    "unit": {"zh": "单位", "en": "Unit"},
    "smart": {"zh": "SMART 缺项", "en": "SMART gaps"},
    "definition": {"zh": "定义", "en": "Definition"},
    "lineage": {"zh": "血缘与引用", "en": "Lineage and use"},
    "history": {"zh": "版本历史", "en": "Version history"},
    "edit": {"zh": "编辑", "en": "Edit"},
    "smart_gaps": {"zh": "按 SMART 原则，这个定义还缺：", "en": "By SMART, this definition still lacks:"},
    "smart_ok": {"zh": "定义满足 SMART 原则。", "en": "The definition meets SMART."},
    "dataset": {"zh": "数据集", "en": "Dataset"},
    "used_by": {"zh": "被以下公式指标引用", "en": "Used by these formula metrics"},
    "not_used": {"zh": "没有公式引用它。", "en": "No formula uses it."},
    "version": {"zh": "版本", "en": "Version"},
    "from_version": {"zh": "比较：从版本", "en": "Compare: from version"},
    "to_version": {"zh": "到版本", "en": "to version"},
    "no_difference": {"zh": "（无差异）", "en": "(no difference)"},
    "yaml_definition": {"zh": "YAML 定义", "en": "YAML definition"},
    "check": {"zh": "检查", "en": "Check"},
    "save": {"zh": "保存", "en": "Save"},
    "checked_ok": {"zh": "检查通过，未保存", "en": "Checked, not saved"},
    "saved": {"zh": "已保存", "en": "Saved"},
    "created": {"zh": "新建", "en": "created"},
    "updated": {"zh": "更新", "en": "updated"},
    "unchanged": {"zh": "未变", "en": "unchanged"},
    "new_metric": {"zh": "新建指标", "en": "New metric"},
    "no_metrics_yet": {"zh": "还没有指标。在上方新建，或运行 `python -m kpi_core metrics apply FILE`。",
                       "en": "No metrics yet. Create one above, or run `python -m kpi_core metrics apply FILE`."},
    # targets
    "targets_of": {"zh": "{year} 年目标", "en": "Targets for {year}"},
    "targets_hint": {"zh": "“全年目标（设定）”可编辑；各月为当前生效的目标（设定、按规则分解或由下级汇总）。",
                     "en": "'Year target (set)' is editable; the months show the targets in force (set, phased "
                           "or rolled up from the children)."},
    "explicit_year": {"zh": "全年目标（设定）", "en": "Year target (set)"},
    "explicit_year_help": {"zh": "本单元自己的全年目标；留空表示由下级汇总或按月设定。",
                           "en": "The unit's own target for the year; blank: rolled up or set by month."},
    "month_suffix": {"zh": "月", "en": ""},
    "save_targets": {"zh": "保存 {n} 项修改", "en": "Save {n} change(s)"},
    "targets_saved": {"zh": "已保存为批次 {batch}（{n} 个目标）。", "en": "Saved as batch {batch} ({n} targets)."},
    "targets_tab": {"zh": "目标", "en": "Targets"},
    "cascade": {"zh": "目标分解", "en": "Cascade"},
    "reconciliation": {"zh": "上下级核对", "en": "Reconciliation"},
    "method": {"zh": "分解方法", "en": "Method"},
    "method_equal": {"zh": "平均分配", "en": "Equal shares"},
    "method_last_year": {"zh": "按上年占比", "en": "Last year's shares"},
    "method_headcount": {"zh": "按人数", "en": "By headcount"},
    "method_weights": {"zh": "按指定权重", "en": "Given weights"},
    "uplift": {"zh": "上浮系数", "en": "Uplift"},
    "weight": {"zh": "权重", "en": "Weight"},
    "share": {"zh": "占比", "en": "Share"},
    "apply_cascade": {"zh": "写入分解结果", "en": "Write the split targets"},
    "own_target": {"zh": "本级目标", "en": "Own target"},
    "children_total": {"zh": "下级合计", "en": "Children's total"},
    "gap": {"zh": "差额", "en": "Gap"},
    "nothing_to_reconcile": {"zh": "没有可汇总核对的目标（仅“求和”类指标参与核对）。",
                             "en": "No targets to reconcile (only sum metrics add up)."},
    # org and settings
    "org_tree": {"zh": "组织架构", "en": "Org tree"},
    "name": {"zh": "名称", "en": "Name"},
    "parent": {"zh": "上级", "en": "Parent"},
    "level": {"zh": "层级", "en": "Level"},
    "children_n": {"zh": "下级数", "en": "Children"},
    "n_units": {"zh": "共 {n} 个组织单元", "en": "{n} org units"},
    "org_import": {"zh": "导入组织架构", "en": "Import the org tree"},
    "org_import_help": {"zh": "列：编码、名称、上级（或 code, name, parent）。先检查，确认后写入；"
                              "新单元添加，已有单元更新。",
                        "en": "Columns: code, name, parent (编码/名称/上级 too). Checked first, written when you "
                              "confirm; new units are added, existing ones updated."},
    "org_will_load": {"zh": "文件检查通过：{n} 个组织单元。", "en": "The file is clean: {n} org units."},
    "org_empty": {"zh": "还没有组织架构，请先导入。", "en": "No org tree yet; import one."},
    "settings": {"zh": "设置", "en": "Settings"},
    "setting_fiscal_year_start": {"zh": "财年起始月", "en": "Fiscal year starts in"},
    "setting_default_green": {"zh": "默认达标阈值", "en": "Default green threshold"},
    "setting_default_amber": {"zh": "默认预警阈值", "en": "Default amber threshold"},
    "setting_grade_bands": {"zh": "评级区间", "en": "Grade bands"},
    "grade_bands_help": {"zh": "格式 S:110,A:100,B:90,C:75（低于最后一档为 D）", "en": "As S:110,A:100,B:90,C:75 "
                         "(below the last: D)"},
    "fiscal_help": {"zh": "财年以其结束的自然年命名：4 月起始时，2026 财年为 2025-04 至 2026-03。"
                          "阈值为达成率（1.0 = 100%），仅用于未自设阈值的指标。",
                    "en": "A fiscal year is named by the calendar year it ends in: starting in April, FY2026 runs "
                          "2025-04 to 2026-03. Thresholds are attainments (1.0 = 100 %), for metrics that set none."},
    "month_n": {"zh": "{m}月", "en": "M{m}"},
    "settings_saved": {"zh": "已保存 {n} 项设置。", "en": "{n} setting(s) saved."},
    "phasing_profiles": {"zh": "分解曲线", "en": "Phasing profiles"},
    "no_profiles": {"zh": "还没有自定义分解曲线（内置：平均、按上年占比）。用 `python -m kpi_core phasing set` 添加。",
                    "en": "No custom profiles (built in: even, last year's shares). Add one with "
                          "`python -m kpi_core phasing set`."},
    # drill-through
    "drill_through": {"zh": "数据明细", "en": "Drill-through"},
    "value_source": {"zh": "数值来源", "en": "Value from"},
    "value_source_reported": {"zh": "本单元上报", "en": "reported by the unit"},
    "value_source_rolled_up": {"zh": "由下级汇总", "en": "rolled up from the units below"},
    "value_source_dataset": {"zh": "由数据集计算", "en": "computed from the dataset"},
    "value_source_computed": {"zh": "由公式计算", "en": "computed by the formula"},
    "uploaded_values": {"zh": "上报的数值（含下级）及其批次", "en": "Uploaded values (units below included) and "
                        "their batches"},
    "nothing_uploaded": {"zh": "本期没有上报数值。", "en": "Nothing was uploaded for this period."},
    "dataset_rows": {"zh": "数据集明细：共 {n} 行，显示前 {shown} 行", "en": "Dataset rows: {n} in all, the first "
                     "{shown} shown"},
    "components": {"zh": "公式组成", "en": "Formula parts"},
    "targets_set": {"zh": "设定的目标及其批次", "en": "Targets set, and their batches"},
    # boards
    "boards": {"zh": "看板", "en": "Boards"},
    "tile_kpi_card": {"zh": "指标卡", "en": "KPI card"},
    "tile_trend": {"zh": "趋势图", "en": "Trend"},
    "tile_bar_by_org": {"zh": "单位柱状图", "en": "Bars by unit"},
    "tile_bullet": {"zh": "子弹图", "en": "Bullet"},
    "tile_heatmap": {"zh": "达成热力图", "en": "Heat map"},
    "tile_gauge": {"zh": "仪表盘", "en": "Gauge"},
    "tile_ranking": {"zh": "排名", "en": "Ranking"},
    "tile_table": {"zh": "明细表", "en": "Table"},
    "tile_text": {"zh": "文字说明", "en": "Text note"},
    "tile_empty": {"zh": "这里还没有数据：换个期间或单位试试。", "en": "No data here yet: try another period "
                   "or unit."},
    "cross_filter": {"zh": "已按 {unit} 筛选（点击图中单位可切换）", "en": "Filtered to {unit} (click a unit "
                     "in a chart to change)"},
    "clear_filter": {"zh": "清除筛选", "en": "Clear filter"},
    "latest_period": {"zh": "最新期间", "en": "latest period"},
    "grain": {"zh": "粒度", "en": "Grain"},
    "grain_month": {"zh": "月", "en": "Month"},
    "grain_quarter": {"zh": "季", "en": "Quarter"},
    "grain_year": {"zh": "年", "en": "Year"},
    "add_tile": {"zh": "添加图块", "en": "Add a tile"},
    "tile_type": {"zh": "图块类型", "en": "Tile type"},
    "metrics_pick": {"zh": "指标", "en": "Metrics"},
    "tile_title": {"zh": "标题（可选）", "en": "Title (optional)"},
    "choose": {"zh": "选择指标", "en": "Choose metrics"},
    "add": {"zh": "添加", "en": "Add"},
    "arrange": {"zh": "排列（拖动或用箭头调整顺序，滑块调整宽度）", "en": "Arrange (drag, or use the arrows; "
                "the slider sets the width)"},
    "move_up": {"zh": "上移", "en": "Move up"},
    "move_down": {"zh": "下移", "en": "Move down"},
    "width": {"zh": "宽度", "en": "Width"},
    "duplicate": {"zh": "复制", "en": "Duplicate"},
    "delete": {"zh": "删除", "en": "Delete"},
    "board_title": {"zh": "看板标题", "en": "Board title"},
    "sharing": {"zh": "共享", "en": "Sharing"},
    "share_private": {"zh": "仅自己", "en": "Private"},
    "share_org": {"zh": "共享给组织（含下级）", "en": "Shared with a unit (its subtree)"},
    "share_everyone": {"zh": "所有人", "en": "Everyone"},
    "refresh": {"zh": "自动刷新", "en": "Auto refresh"},
    "refresh_off": {"zh": "不自动刷新（数据到达后打开即新）", "en": "off (new data shows on the next view)"},
    "save_board": {"zh": "保存看板", "en": "Save the board"},
    "board_saved": {"zh": "看板 {code} 已保存（版本 {v}）。", "en": "Board {code} saved (version {v})."},
    "board_code": {"zh": "看板编码（小写字母、数字、下划线）", "en": "Board code (lowercase letters, digits, _)"},
    "create": {"zh": "创建", "en": "Create"},
    "bad_board_code": {"zh": "编码须以小写字母开头，只含小写字母、数字和下划线。", "en": "The code must start with "
                       "a lowercase letter and hold only lowercase letters, digits and _."},
    "board_exists": {"zh": "已有编码为 {code} 的看板。", "en": "A board {code} exists already."},
    "editing": {"zh": "编辑看板", "en": "Editing"},
    "undo": {"zh": "撤销", "en": "Undo"},
    "cancel": {"zh": "取消", "en": "Cancel"},
    "no_boards": {"zh": "还没有你能看到的看板。新建一个吧。", "en": "No board you can see yet. Create one."},
    "no_such_board": {"zh": "没有看板 {code}，或你无权查看。", "en": "No board {code}, or you may not see it."},
    "edit_board": {"zh": "编辑", "en": "Edit"},
    "export_excel": {"zh": "导出 Excel", "en": "Export Excel"},
    "new_board": {"zh": "新建看板", "en": "New board"},
    "board_meta": {"zh": "所有者 {owner} · {share} · 刷新：{refresh}", "en": "Owner {owner} · {share} · "
                   "refresh: {refresh}"},
    # sign-in, users, audit, closed periods
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_in_title": {"zh": "登录绩效驾驶舱", "en": "Sign in to KPI Cockpit"},
    "sheet": {"zh": "工作表", "en": "Sheet"},
    "choose_sheet": {"zh": "{file} 有多个工作表有数据（{sheets}），且文件打开时不在其中任何一个上。"
                           "请选择要读取的工作表：",
                     "en": "{file} has data on several sheets ({sheets}) and does not open on any of them. "
                           "Choose the sheet to read:"},
    "choose_sheet_hint": {"zh": "选择工作表", "en": "Choose a sheet"},
    "other_sheets": {"zh": "已读取工作表“{sheet}”（文件打开时所在的工作表）。以下工作表也有数据，未读取：{others}；"
                           "如需导入，请分别上传。",
                     "en": "Read sheet '{sheet}', the one the workbook opens on. These sheets also hold data and "
                           "were not read: {others}; upload them one at a time."},
    "smart_gap_S": {"zh": "具体（S）：没有说明统计的是什么", "en": "specific: no description says what is counted"},
    "smart_gap_M": {"zh": "可衡量（M）：没有计量单位", "en": "measurable: no unit"},
    "smart_gap_A": {"zh": "可实现（A）：没有负责人", "en": "achievable: no owner is accountable"},
    "smart_gap_R": {"zh": "相关（R）：没有关联平衡计分卡维度",
                    "en": "relevant: no BSC perspective links it to strategy"},
    "smart_gap_T": {"zh": "有时限（T）：没有说明多久衡量一次",
                    "en": "time-bound: no frequency says when it is measured"},
    "session_ended": {"zh": "你的登录已结束（在别处退出、密码已更改或账号已停用），请重新登录。",
                      "en": "Your session has ended (signed out elsewhere, a new password, or the account was "
                            "disabled). Sign in again."},
    "user_name": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "password_again": {"zh": "再次输入密码", "en": "Password again"},
    "sign_out": {"zh": "退出登录", "en": "Sign out"},
    "signed_in_as": {"zh": "当前用户：{name}（{role}）", "en": "Signed in as {name} ({role})"},
    "sso": {"zh": "使用公司账号登录（SSO）", "en": "Sign in with your company account (SSO)"},
    "first_run": {"zh": "首次使用：请创建管理员账号。之后可在“管理”页添加其他用户。",
                  "en": "First run: create the administrator account. Add other users on the Admin page afterwards."},
    "create_admin": {"zh": "创建管理员", "en": "Create administrator"},
    "passwords_differ": {"zh": "两次输入的密码不一致", "en": "The two passwords differ"},
    "role_admin": {"zh": "管理员", "en": "admin"},
    "role_executive": {"zh": "高管", "en": "executive"},
    "role_manager": {"zh": "经理", "en": "manager"},
    "role_team_lead": {"zh": "组长", "en": "team lead"},
    "role_employee": {"zh": "员工", "en": "employee"},
    "users": {"zh": "用户与角色", "en": "Users and roles"},
    "audit_log": {"zh": "审计日志", "en": "Audit log"},
    "closed_periods": {"zh": "已关账期间", "en": "Closed periods"},
    "close_period": {"zh": "关账", "en": "Close period"},
    "reopen_period": {"zh": "重新开放", "en": "Reopen"},
    "add_user": {"zh": "添加用户", "en": "Add user"},
    "role": {"zh": "角色", "en": "Role"},
    "user_orgs": {"zh": "所属组织", "en": "Org units"},
    "email": {"zh": "邮箱（SSO）", "en": "Email (SSO)"},
    "active": {"zh": "启用", "en": "Active"},
    "save_user": {"zh": "保存用户", "en": "Save user"},
    "unlock": {"zh": "解除锁定", "en": "Unlock"},
    "who": {"zh": "操作人", "en": "Who"},
    "object_key": {"zh": "对象编码", "en": "Key"},
    "before_value": {"zh": "修改前", "en": "Before"},
    "after_value": {"zh": "修改后", "en": "After"},
    "action": {"zh": "操作", "en": "Action"},
    "object": {"zh": "对象", "en": "Object"},
    "since": {"zh": "起始日期", "en": "Since"},
    "until": {"zh": "截止日期", "en": "Until"},
    "text_contains": {"zh": "包含文字", "en": "Text contains"},
    "export_xlsx": {"zh": "导出 Excel", "en": "Export Excel"},
    "export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "no_access": {"zh": "你没有权限：{what}", "en": "Not allowed: {what}"},
    "admin_only": {"zh": "此页面仅管理员可用。", "en": "This page is for admins."},
    "reason_closed": {"zh": "原因（修改已关账期间时必填）", "en": "Reason (required to change a closed period)"},
}


def t(key: str, lang: str) -> str:
    """The string for `key` in `lang`, falling back to Chinese, then the key itself."""
    entry = STRINGS.get(key, {})
    return entry.get(lang) or entry.get("zh") or key


# The engine writes each status rule in English; these patterns give the Chinese.
_RULES_ZH = [
    (r"^attainment (\S+) ≥ green threshold (\S+)$", r"达成率 \1 ≥ 达标阈值 \2"),
    (r"^attainment (\S+) ≥ amber threshold (\S+), below green (\S+)$", r"达成率 \1 ≥ 预警阈值 \2，低于达标阈值 \3"),
    (r"^attainment (\S+) below amber threshold (\S+)$", r"达成率 \1 低于预警阈值 \2"),
    (r"^zero target met \((.+)\)$", r"零目标已达成（\1）"),
    (r"^zero target missed \((.+) is not (.+)\)$", r"零目标未达成（\1 不满足 \2）"),
    (r"^target (\S+) is too close to 0 for an attainment$", r"目标 \1 过于接近 0，无法计算达成率"),
    (r"^no actual value$", "没有实际值"),
    (r"^no target range$", "没有目标区间"),
    (r"^no target$", "没有目标"),
]


def rule_text(rule: str, lang: str) -> str:
    """A status rule in the UI language."""
    if lang != "zh" or not rule:
        return rule
    for pattern, repl in _RULES_ZH:
        if re.match(pattern, rule):
            return re.sub(pattern, repl, rule)
    return rule


# Import problems are written in English by the importer; the commonest read in Chinese too.
_PROBLEMS_ZH = [
    (r"^(\S+) is outside the units you may load actuals for \((.*)\)$", r"\1 不在你可上报实际值的组织范围内（\2）"),
    (r"^(\S+) is outside the units you may load targets for \((.*)\)$", r"\1 不在你可设定目标的组织范围内（\2）"),
    (r"^period (\S+) is closed: only an admin may change it$", r"期间 \1 已关账：只有管理员可以修改"),
    (r"^wrong user name or password, or the account is locked after repeated failures \(an admin can unlock it\)$",
     r"用户名或密码错误，或账号因多次失败已被锁定（管理员可以解锁）"),
    (r"^the password must have at least (\d+) characters$", r"密码至少需要 \1 个字符"),
    (r"^period (\S+) is closed: give a reason to change it$", r"期间 \1 已关账：修改须填写原因"),
    (r"^duplicate: (.+) is also on row (.+)$", r"重复：\1 在第 \2 行也出现"),
    (r"^unknown metric '(.+)'$", r"未知指标“\1”"),
    (r"^unknown org unit '(.+)'$", r"未知组织单元“\1”"),
    (r"^'(.+)' is not a number(.*)$", r"“\1”不是数字"),
    (r"^period (\S+) is a (\S+), but (\S+) is reported by (\S+) \(frequency: \S+\)$",
     r"期间 \1 的粒度与指标 \3 的上报频率（\4）不符"),
    (r"^(\S+) is computed from dataset '(.+)'; its actuals cannot be uploaded$",
     r"\1 由数据集“\2”计算得出，不能上报实际值"),
    (r"^(\S+) is computed from formula (.+); its actuals cannot be uploaded$",
     r"\1 由公式 \2 计算得出，不能上报实际值"),
    (r"^value (\S+) is outside what (\S+) allows \((.+?)\) \(write (\S+) or (\S+) for a percentage\)$",
     r"数值 \1 超出指标 \2 允许的范围（\3）；百分比请写 \4 或 \5"),
    (r"^value (\S+) is outside what (\S+) allows \((.+?)\)$", r"数值 \1 超出指标 \2 允许的范围（\3）"),
    (r"^period month (\d+) is not 1-12$", r"期间的月份 \1 不在 1-12 之间"),
    (r"^period (.+) is not a period \(write 2025-03, 2025-Q1 or 2025\)$",
     r"期间 \1 无法识别（请写 2025-03、2025-Q1 或 2025）"),
    (r"^period is empty$", "期间为空"),
    (r"^org unit '(.+)' does not exist$", r"组织单元“\1”不存在"),
    # read exactly, or refuse (SPEC §5)
    (r"^'(.*)' holds an invisible character \((\S+), [^)]*\); retype the number$",
     r"“\1”含有看不见的字符（\2），请重新输入该数字"),
    (r"^'(.*)' holds '(.+)' \((.+)\), which is not a plain digit; write the number with 0-9$",
     r"“\1”含有“\2”（\3），不是普通数字，请用 0-9 书写"),
    (r"^'(.*)' has a sign inside accounting brackets; write -5 or \(5\)$",
     r"“\1”在会计括号内又带正负号，请写成 -5 或 (5)"),
    (r"^'(.*)' has two units \((.+)\); write one$", r"“\1”带了两个单位（\2），请只写一个"),
    (r"^'(.*)' is not a finite number$", r"“\1”不是有限的数字"),
    (r"^'(.*)' is too large for a KPI value \(over 10\^18\); check the cell$",
     r"“\1”过大，不像指标数值（超过 10^18），请检查"),
    (r"^'(.*)' has (\d+) digits before the point; only 15 are kept exactly \(as in Excel\): is it a number or an "
     r"identifier\?$", r"“\1”整数部分有 \2 位，只能精确保存 15 位（与 Excel 相同）：这是数字还是编号？"),
    (r"^'(.*)' has spaces inside the number; only thousands may be spaced \(1 234 567\)$",
     r"“\1”数字中间有空格；只有千分位可以用空格分隔（1 234 567）"),
    (r"^'(.*)' is a date, not a number$", r"“\1”是日期，不是数字"),
    (r"^period (\S+) is not a day on the calendar$", r"期间 \1 不是日历上存在的日期"),
    (r"^'(.*)' is not a day on the calendar$", r"“\1”不是日历上存在的日期"),
    (r"^period (\S+) is not a time of day$", r"期间中的时刻 \1 不存在"),
    (r"^cell (\w+) holds the formula (.+) with no saved result: the file was written by a program that does not "
     r"calculate formulas\. Open it in Excel \(or LibreOffice\), save it, and upload it again; or paste the values$",
     r"单元格 \1 是公式 \2，但文件中没有保存计算结果（文件由不计算公式的程序生成）。请用 Excel 或 LibreOffice "
     r"打开并保存后重新上传，或粘贴为数值"),
    (r"^cell (\w+) holds the formula (.+) with a saved result that Excel replaces when the workbook opens: .+$",
     r"单元格 \1 是公式 \2，文件保存的结果在 Excel 打开时会被重新计算，与所见不一定相同（文件由不计算公式的程序生成）。"
     r"请用 Excel 或 LibreOffice 打开并保存后重新上传，或粘贴为数值"),
    (r"^the unit (.+) is (\w+), but (\S+) is measured in (.+)$", r"单位 \1 是 \2，但指标 \3 的单位是 \4"),
    (r"^row (\d+) is hidden \(or filtered out\) in the sheet, so its author does not see it: .+$",
     r"第 \1 行在表中被隐藏（或被筛选掉），填报人看不到它：请取消隐藏或删除后重新上传"),
    (r"^column '(.+)' is hidden in the sheet, so its author does not see it: .+$",
     r"列“\1”在表中被隐藏，填报人看不到它：请取消隐藏或删除"),
    (r"^cells (\S+) are merged: the one value shown would count for each of them; .+$",
     r"单元格 \1 是合并单元格：显示的一个数值会被算作每个单元格的值；请取消合并并分别填写"),
    (r"^(.+): (rows? .+) (?:is|are) hidden \(or filtered out\): .+$",
     r"\1：\2 被隐藏（或被筛选掉），填报人看不到：请取消隐藏或删除后重新上传"),
    (r"^(.+) is a percentage, but (\S+) is measured in (.+); write the value in (.+)$",
     r"\1 是百分比，但指标 \2 的单位是 \3，请按 \4 填写"),
    (r"^org code '(.+)' matches several units \((.+)\); an admin must rename all but one$",
     r"组织编码“\1”对应多个单元（\2），需由管理员改名，只保留一个"),
    (r"^code '(.+)' is the same as '(.+)' on row (\d+) when width, letter case and invisible characters are ignored; "
     r"an upload naming one could land on the other$",
     r"编码“\1”在忽略全半角、大小写和不可见字符后与第 \3 行的“\2”相同，上传时可能写到另一个单元，已拒绝"),
    (r"^code '(.+)' is the same as '(.+)' already in the org tree when width, letter case and invisible characters "
     r"are ignored; an upload naming one could land on the other$",
     r"编码“\1”在忽略全半角、大小写和不可见字符后与组织树中已有的“\2”相同，上传时可能写到另一个单元，已拒绝"),
    (r"^holds a control character \((.+)\); retype it$", r"含有控制字符（\1），请重新输入"),
    *[(rf"^(.+) may not {re.escape(en)}: that needs the (.+) role$",
       lambda m, zh=zh: f"{_roles_zh(m[1])} 无权{zh}：需要{_roles_zh(m[2], '或')}角色")
      for en, zh in (("read figures", "查看数据"), ("load actuals", "上报实际值"), ("change targets", "修改目标"),
                     ("change boards", "修改看板"), ("change the metric dictionary", "修改指标库"),
                     ("change the org tree", "修改组织树"), ("load datasets", "导入数据集"),
                     ("change settings", "修改设置"), ("manage users", "管理用户"),
                     ("read the audit log", "查看审计日志"), ("close or reopen periods", "关账或重开期间"))],
    *[(rf"^a reason is required to {re.escape(en)}$", f"请填写原因：{zh}须说明原因")
      for en, zh in (("change the metric dictionary", "修改指标库"), ("change settings", "修改设置"),
                     ("change targets", "修改目标"), ("cascade targets", "分解目标"), ("revert a batch", "撤销批次"))],
    (r"^The disk holding (.+) is full: nothing was written\. Free some space \(or ask an admin to\) and try again\.$",
     r"\1 所在磁盘已满：未写入任何数据。请清理空间（或请管理员处理）后重试。"),
    (r"^the query asks for ([\d,]+) cells \(([\d,]+) metrics × ([\d,]+) units × ([\d,]+) periods\), over the "
     r"limit of ([\d,]+) \(KPI_MAX_CELLS_QUERY\); ask for fewer metrics, units or periods$",
     r"查询需要计算 \1 个单元格（\2 个指标 × \3 个组织 × \4 个期间），超过上限 \5（KPI_MAX_CELLS_QUERY），"
     r"请减少指标、组织或期间"),
    (r"^user '(.+)' exists already(.*)$", r"用户“\1”已存在（用户名不区分大小写和全半角）"),
    (r"^(.+): the data is on the hidden sheet '(.+)', and hidden sheets are not read; unhide it, or name it to read "
     r"it anyway \(--sheet '(.+)'\)$",
     r"\1：数据在隐藏的工作表“\2”上，隐藏的工作表不会被读取；请取消隐藏，或指定该工作表"),
    (r"^(.+): (\d+) formula cell\(s\) have (?:no saved result|a saved result that Excel replaces when the "
     r"workbook opens): (.+?); the file was written by .+$",
     r"\1：有 \2 个公式单元格没有保存计算结果：\3；请用 Excel 或 LibreOffice 打开并保存后重新上传，或粘贴为数值"),
    (r"^(.+) \(sheet '(.+)'\): header cell (\w+) holds the formula (.+) with no saved result; .+$",
     r"\1（工作表“\2”）：表头单元格 \3 是公式 \4，但没有保存计算结果；请用 Excel 打开并保存后重新上传"),
    (r"^the server cannot keep the upload: (.+)$", r"服务器无法保存上传的文件：磁盘已满"),
    (r"^period '(.*)': (.+)$", r"期间“\1”无法识别"),
]


def _roles_zh(text: str, joiner: str | None = None) -> str:
    """Role codes in a refusal ('li (team_lead of EAST)', 'admin or team_lead') in Chinese."""
    for role in ("team_lead", "executive", "manager", "employee", "admin"):
        text = re.sub(rf"\b{role}\b", STRINGS[f"role_{role}"]["zh"], text)
    text = text.replace(" of ", "，单位 ")
    return text.replace(", ", "、").replace(" or ", joiner) if joiner else text


def problem_text(message: str, lang: str) -> str:
    """An import problem in the UI language (English where no pattern knows it)."""
    if lang != "zh" or not message:
        return message
    for pattern, repl in _PROBLEMS_ZH:
        if re.match(pattern, message):
            return re.sub(pattern, repl, message)
    return message
