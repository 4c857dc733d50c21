"""The native REST API (v1). See docs/native-api.md."""
