"""The engine: plans fires, releases them at their due instant, and runs their lifecycle."""
