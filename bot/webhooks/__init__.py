"""Webhook edges: alert intake from Alertmanager and Grafana (`alerts.py`)."""
