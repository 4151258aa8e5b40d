"""Router: applies the policy to an accepted incident and writes down why."""
