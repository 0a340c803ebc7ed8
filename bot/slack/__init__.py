"""The Slack edge: Bolt app, listeners, middleware, state and the HTTP / Socket Mode servers."""
