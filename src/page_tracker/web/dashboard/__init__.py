"""The dashboard: server-rendered pages, their admin forms and charts, and live updates."""
