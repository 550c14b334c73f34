"""Writers that turn the built graph into release files; ``release.write_release`` runs them all."""
