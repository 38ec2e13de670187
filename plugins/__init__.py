"""ganbench's built-in plugins, registered through the `ganbench` entry-point group."""
