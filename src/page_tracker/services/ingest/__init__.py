"""Page views in: parse and check, classify, tie to a visitor, queue, plan and count."""
