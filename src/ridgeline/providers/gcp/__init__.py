"""Google Cloud: the asset catalogue and the live scan through Cloud Asset Inventory."""
