"""Use cases: every rule the APIs share lives here once (api -> service -> engine -> store)."""
