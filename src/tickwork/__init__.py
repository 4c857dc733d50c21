"""tickwork: a distributed job scheduler with Quartz cron, workers and compatible APIs."""

__version__ = "0.1.0"
