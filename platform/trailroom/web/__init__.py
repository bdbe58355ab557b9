"""The server-rendered web pages: landing, sign-in, the dashboard and its plumbing.

Controllers here are thin like the API's: they call the domain services (`state.services`) and
render a Jinja template from the top-level `templates/` folder; they never call the API over HTTP.
"""
