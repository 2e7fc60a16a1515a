"""Orchestration and IO for creditflow: Prefect flows, the CLI, input files and the warehouse."""
