"""The one exception type for mistakes a user can make (bad path, corrupt data, bad flags),
and the short wording of an OS error in the one line that reports it.

`common.cli.exits_cleanly` turns a UserError into one clear line on stderr and exit status 2,
never a traceback.
"""
import os


class UserError(Exception):
    """A problem with the user's input or flags; the message names the input and what to do."""


def describe(error):
    """An OSError as 'No space left on device' rather than '[Errno 28] ...: path'."""
    if isinstance(error, OSError) and error.errno is not None:
        return os.strerror(error.errno)
    return str(error).splitlines()[0] if str(error) else type(error).__name__
