"""What the warehouse holds, in one small dict (the home page and `init` use it)."""

from __future__ import annotations

from kpi_core.store.warehouse import Warehouse


def warehouse_summary(wh: Warehouse) -> dict:
    """Counts of org units, metrics, facts and datasets, and the latest batches."""
    with wh.connect() as con:
        def count(sql: str) -> int:
            return int(con.execute(sql).fetchall()[0][0])

        out = {
            "data_version": count("SELECT CAST(value AS BIGINT) FROM setting WHERE key = 'data_version'"),
            "org_units": count("SELECT count(*) FROM org_unit"),
            "metrics": count("SELECT count(*) FROM metric"),
            "actuals": count("SELECT count(*) FROM actual"),
            "targets": count("SELECT count(*) FROM target"),
            "datasets": count("SELECT count(*) FROM dataset"),
            "batches": count("SELECT count(*) FROM batch"),
        }
        cur = con.execute(
            "SELECT id, kind, coalesce(dataset, '') AS dataset, source, user_name, created_at, rows_loaded, status "
            "FROM batch ORDER BY id DESC LIMIT 10")
        cols = [d[0] for d in cur.description]
        out["recent_batches"] = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    return out
