"""Errors of the local cloud, as Lambda's API names them, in one leaf module every layer may import.

A ``LambdaServiceError`` is a failure of the Lambda *service* (not of the function's code): the
Invoke API turns it into the status, ``x-amzn-ErrorType`` and body AWS would send, and the API
Gateway front into one of its canned responses. Each subclass names its status and error type
in its class line (``class X(LambdaServiceError, status=404, error_type=...)``), so the table of
Lambda's errors reads as one. Function errors are not exceptions: they are results with
``function_error`` set, exactly as Lambda reports them.
"""

from __future__ import annotations

from harness.errors import HarnessError


class LocalCloudError(HarnessError):
    """Something the user can fix about the local cloud itself (ports, engine, missing tools)."""


class LambdaServiceError(Exception):
    """A Lambda API error: ``status`` and ``error_type`` are what the Invoke API answers."""

    status = 500
    error_type = "ServiceException"

    def __init_subclass__(cls, *, status: int | None = None, error_type: str | None = None) -> None:
        super().__init_subclass__()
        cls.status = cls.status if status is None else status
        cls.error_type = cls.error_type if error_type is None else error_type

    def body(self) -> dict[str, str]:
        """The Invoke API's JSON body: ``str(self)`` is the message the error was raised with."""
        return {"Type": "User" if self.status < 500 else "Service", "message": str(self)}


class ResourceNotFoundError(LambdaServiceError, status=404, error_type="ResourceNotFoundException"):
    pass


class InvalidRequestContentError(LambdaServiceError, status=400, error_type="InvalidRequestContentException"):
    pass


class InvalidParameterValueError(LambdaServiceError, status=400, error_type="InvalidParameterValueException"):
    pass


class RequestTooLargeError(LambdaServiceError, status=413, error_type="RequestTooLargeException"):
    pass


class TooManyRequestsError(LambdaServiceError, status=429, error_type="TooManyRequestsException"):
    """Throttled: the function's reserved concurrency or the instance's cap is in use."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def body(self) -> dict[str, str]:
        return {"Reason": self.reason, "Type": "User", "message": "Rate Exceeded."}


class ImageNotAvailableError(LambdaServiceError, status=502, error_type="ResourceNotReadyException"):
    """The function's image is not in the registry (Lambda would leave the function inactive)."""


class UnsupportedFunctionError(LambdaServiceError, status=502, error_type="InvalidRuntimeException"):
    """Only container image functions can run locally."""


class EfsMountError(LambdaServiceError, status=403, error_type="EFSMountFailureException"):
    pass


class EnvironmentStartError(LambdaServiceError, status=500, error_type="ServiceException"):
    """The container did not come up (engine down, exited at start, RIE port never opened)."""
