"""Figures read from what tasks and feedback recorded: KPI, KPI targets, the IKM report. Reports
never write."""
