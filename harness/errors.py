"""The harness's one error base: anything a user can fix, printed as one line by the CLI."""


class HarnessError(Exception):
    """A failure with a message that says what went wrong and the way out."""
