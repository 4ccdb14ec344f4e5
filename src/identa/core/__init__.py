"""Small building blocks every domain uses: ids, clock, base errors."""
