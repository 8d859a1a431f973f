"""kpi forecast: (being built; see issue 15)."""
