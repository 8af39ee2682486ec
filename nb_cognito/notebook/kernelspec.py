"""A Jupyter kernel running this interpreter, from a throwaway kernelspec (never the user's own).

Used by ``nb-cognito demo`` and the kernel tests. jupyter_client is imported only when called.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def kernel_manager(directory: Path, name: str, display_name: str, **options: Any) -> Any:
    """A ``KernelManager`` for kernelspec ``name``, written under ``directory / "kernels"``.

    ``options`` go to ``KernelManager`` as they are (e.g. ``transport`` and ``ip``).
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernels = directory / "kernels"
    spec_dir = kernels / name
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    return KernelManager(kernel_name=name, kernel_spec_manager=specs, **options)
