"""From the command line and registry.toml to a run's resolved, frozen spec; studies and sweeps."""
