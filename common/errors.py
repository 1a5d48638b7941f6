"""The one exception type for mistakes a user can make (bad path, corrupt data, bad flags).

`common.cli.run` turns it into one clear line on stderr and exit status 2, never a traceback.
"""


class UserError(Exception):
    """A problem with the user's input or flags; the message names the input and what to do."""
