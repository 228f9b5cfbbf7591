"""Load-time answers, pure functions of a policy tree: classification, retention, waivers."""
