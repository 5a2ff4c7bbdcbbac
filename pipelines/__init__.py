"""Prefect flows: thin wrappers that run the runners of churn.runners as tasks."""
