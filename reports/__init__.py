"""The run as a firmware release review reads it: HTML report, JSON results, release comparison.

``reports.plugin`` is the pytest plugin; ``python -m reports compare OLD.json NEW.json`` compares
two runs. Generated files go to ``reports/out/`` (git-ignored).
"""
