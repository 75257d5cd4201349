"""Library errors as Python exceptions: every failed call raises a subclass
of mynn.Error carrying the library's message (mynn_last_error) and status
name.  Each subclass also derives from the built-in exception a Python
caller would expect (ValueError for bad arguments and data, OSError for
files, MemoryError, RuntimeError for calls made at the wrong time)."""


class Error(Exception):
    """A failed libmynn call.  status: the mynn_status name, as
    "MYNN_ERR_SHAPE"; message: the library's text."""
    status = "MYNN_ERR"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class NullError(Error, ValueError):
    status = "MYNN_ERR_NULL"


class ArgumentError(Error, ValueError):
    status = "MYNN_ERR_ARG"


class ShapeError(Error, ValueError):
    status = "MYNN_ERR_SHAPE"


class StateError(Error, RuntimeError):
    status = "MYNN_ERR_STATE"


class OutOfMemoryError(Error, MemoryError):
    status = "MYNN_ERR_NOMEM"


class NumericError(Error, ValueError):
    status = "MYNN_ERR_NUMERIC"


class FileError(Error, OSError):
    status = "MYNN_ERR_IO"


class FormatError(Error, ValueError):
    status = "MYNN_ERR_FORMAT"


class StoppedError(Error):
    status = "MYNN_ERR_STOPPED"


# Indexed by the mynn_status value (MYNN_OK = 0 is no error).
BY_STATUS = [None, NullError, ArgumentError, ShapeError, StateError, OutOfMemoryError, NumericError,
             FileError, FormatError, StoppedError]


def from_status(status, message):
    cls = BY_STATUS[status] if 0 < status < len(BY_STATUS) else Error
    return cls(message or cls.status)
