"""Orchestration only: the Prefect flows, the command line that starts them, and the one task
wrapper. The pipelines they run are declared in transforms/pipeline/."""
