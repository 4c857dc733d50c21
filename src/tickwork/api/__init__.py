"""Ways in: the native REST API (and, later, the compatible APIs), over the service layer."""
