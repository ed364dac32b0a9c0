"""Infrastructure shared by every service; no domain knowledge lives here."""
