"""The one exception type that the CLI turns into a clean one-line error (no traceback)."""


class UserError(Exception):
    """Bad input or configuration: the message names the file, line, field or flag at fault."""
