"""Settings admins change at run time (engine, model, costs, limits), stored in the database."""
