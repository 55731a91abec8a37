"""Run the gansrv demo from a checkout: ``python demos/app.py [MODEL.onnx ... | --models-dir DIR]``.

The app itself is the installed package ``gansrv.demo`` (so that ``gansrv demo`` works from a
wheel); this file only makes a checkout without ``pip install`` find it and runs the same command.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gansrv.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[1:1] = ["demo"]
    main()
