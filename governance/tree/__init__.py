"""Reading a policy tree from disk: located YAML, file formats, layers, loading and validation."""
