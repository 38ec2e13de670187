"""The built-ins' entry points: what each registers (names, options, help), kept free of torch;
each build imports its implementation from the plugin module beside this package."""
