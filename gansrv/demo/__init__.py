"""``gansrv demo``: a Gradio app over exported ``.onnx`` generators, on gansrv.runtime alone.

Why the code lives here and not in the checkout's ``demos/`` folder: ``gansrv demo`` must work from
an installed wheel, and only packages listed in pyproject.toml are installed. So the importable app
is ``gansrv.demo`` (shipped with every install) and ``demos/app.py`` is a thin entry point for a
checkout (``python demos/app.py exported/``), the same command line as ``gansrv demo``.

Layout, split so that only ``app`` ever imports gradio (seconds of import time):

- ``limits``: the bounds (request sizes, queue, uploads), importable without numpy;
- ``models``: which models the demo serves (the configured list; the browser names one, never a
  path), the per-kind UI table, the model card;
- ``actions``: what each button does, as plain functions of numpy arrays (bounded inputs);
- ``app``: the Gradio Blocks page and its stable API names;
- ``auth``: accounts (scrypt-hashed ``user:hash`` lines) and their constant-time check;
- ``guard``: the ASGI middleware that puts every route behind the login, throttles failed logins
  and bounds requests per address.

The click command is :mod:`gansrv.cli.demo`.

Nothing here imports torch (a test checks ``sys.modules`` after building the app and generating).
"""
