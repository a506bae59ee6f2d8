"""What every tracked page and counter calls: the seed page, counters, badges, views, health."""
