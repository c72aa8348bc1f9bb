"""CRQC forecasts and Mosca exposure of city data (pure, vectorised with numpy)."""
