"""Management API errors in Auth0's shape: {statusCode, error, message, errorCode}."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse

# Auth0's Management API accepts request bodies of up to 1 MB.
MANAGEMENT_MAX_BODY = 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, error_code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "statusCode": self.status,
                "error": HTTPStatus(self.status).phrase,
                "message": self.message,
                "errorCode": self.error_code,
            },
            status_code=self.status,
        )


def bad_request(message: str, code: str = "invalid_body") -> ApiError:
    return ApiError(400, message, code)


def not_found(message: str, code: str = "inexistent_user") -> ApiError:
    return ApiError(404, message, code)
