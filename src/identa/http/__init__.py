"""The only package that knows FastAPI, Starlette and Jinja2: adapters around the services."""
