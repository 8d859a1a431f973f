"""The KPI engine: roll-ups, formulas, targets, attainment, status and scores (SPEC §3)."""
