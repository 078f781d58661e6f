"""akuma.cli — the `akuma` command: parses the CLI, composes the crates,
boots."""
