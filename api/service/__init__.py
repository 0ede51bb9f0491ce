"""The HTTP service: FastAPI app factory, settings, routers per resource.

Run it with ``aigc-prov serve`` (uvicorn with :func:`api.service.app.app_from_env`), or build
an app in code with ``create_app(ServiceSettings(...))``.
"""
