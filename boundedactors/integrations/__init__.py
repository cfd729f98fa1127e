"""Integrations with web frameworks and metrics systems.

Each module imports its framework at the top, so import only the modules whose
extra is installed: ``asgi`` (no dependency; Starlette, FastAPI or any ASGI app),
``starlette`` (``starlette``), ``aiohttp`` (extra ``aiohttp``), ``prometheus``
(extra ``prometheus``) and ``otel`` (extra ``otel``). The core package imports
none of them.
"""
