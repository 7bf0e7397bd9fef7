"""Pure planning: from listings and manifests, what a night reads, rewrites and recomputes. No I/O."""
