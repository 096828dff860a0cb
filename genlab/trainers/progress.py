"""The progress bar: tqdm's, a Jupyter widget where ipywidgets is installed, else text. Without
ipywidgets (a plain install), tqdm warns at import in Jupyter; the text bar needs no warning."""

import warnings

from tqdm.std import TqdmWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
