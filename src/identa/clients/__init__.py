"""Applications (relying parties) that customers log in to."""
