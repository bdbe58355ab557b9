"""Background work on SAQ: the queues, the worker process and its cron schedule."""
