"""Try-on engines: the interface the pipeline calls (`base`), the registry that builds them by
name (`registry`), and the embedded CPU engine (`local`)."""
