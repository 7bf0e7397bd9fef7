"""Developer tools: the sample generator and the data dictionary. Production code never imports them."""
