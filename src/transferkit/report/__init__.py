"""Run folders: summary.json, metrics.csv, models, report.md with plots."""
