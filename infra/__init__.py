"""The AWS side of matchodds: the Pulumi program (`infra/__main__.py`, one component per part) and the Lambda build."""
