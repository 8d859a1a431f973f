"""KPI Cockpit core: metric dictionary, KPI arithmetic, imports, access and boards."""

__version__ = "0.1.0"
