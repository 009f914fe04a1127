"""The bureau's workbench: ``allocate serve``, the whole workflow in a local web application.

Pages rendered on the server (Starlette, Jinja2) over the same library the command line uses;
:mod:`allocator.web.library` is the one module that calls into it.
"""
