"""What a plugin implements and uses: the contracts (hooks, Protocols and base classes),
options, losses, schemes, networks, data sets, schedules."""
