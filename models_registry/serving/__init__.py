"""Built-in serving: base model + active adapter, hot-swapped on promotion."""
