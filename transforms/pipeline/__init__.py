"""The settlement and instrument pipelines: stage lists run by one runner, fed by one input
edge (inputs.py) and drained by one warehouse edge (warehouse.py); paths under OUT come
from layout.py, every SQL statement from sql/ through sql_runner.py."""
