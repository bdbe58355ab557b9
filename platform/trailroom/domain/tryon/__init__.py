"""Try-on jobs: intake, queueing, results."""
