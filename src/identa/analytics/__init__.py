"""Read models fed by log events and customer profiles: rollups, figures, segments.

Only `identa.http` and `identa.jobs` import this package.
"""
