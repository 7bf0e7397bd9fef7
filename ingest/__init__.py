"""Landing files in, validated event rows out: discovery, parsing, Arrow rows, deduplication."""
