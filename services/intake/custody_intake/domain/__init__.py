"""Pure intake rules: identities of escalations and commands, rejection shapes."""
