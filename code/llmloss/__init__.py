"""Helpers for the executable companion to section 4.5, "Loss functions of
large language models".

One module per concept; every public function names the equation it
implements in the first line of its docstring.
"""

__version__ = "0.1.0"
