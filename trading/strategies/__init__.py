"""Trading strategies: Nautilus Strategy subclasses registered by name (see registry and catalog)."""
