"""The closed catalog of log event types Identa emits, with Auth0's codes and descriptions."""

from __future__ import annotations

from enum import StrEnum


class LogType(StrEnum):
    SUCCESS_LOGIN = "s"
    FAILED_LOGIN = "f"
    FAILED_LOGIN_PASSWORD = "fp"
    FAILED_LOGIN_USERNAME = "fu"
    SUCCESS_SIGNUP = "ss"
    FAILED_SIGNUP = "fs"
    SUCCESS_LOGOUT = "slo"
    FAILED_LOGOUT = "flo"
    SUCCESS_CHANGE_PASSWORD = "scp"
    FAILED_CHANGE_PASSWORD = "fcp"
    SUCCESS_CHANGE_PASSWORD_REQUEST = "scpr"
    FAILED_CHANGE_PASSWORD_REQUEST = "fcpr"
    SUCCESS_VERIFICATION_EMAIL = "sv"
    FAILED_VERIFICATION_EMAIL = "fv"
    SUCCESS_VERIFICATION_EMAIL_REQUEST = "svr"
    FAILED_VERIFICATION_EMAIL_REQUEST = "fvr"
    BLOCKED_ACCOUNT = "limit_wc"
    USER_BLOCK_RELEASED = "ublkdu"
    SUCCESS_USER_DELETION = "sdu"
    SUCCESS_API_OPERATION = "sapi"
    FAILED_SENDING_NOTIFICATION = "fn"
    SUCCESS_EXCHANGE_CODE = "seacft"
    FAILED_EXCHANGE_CODE = "feacft"
    SUCCESS_EXCHANGE_REFRESH = "sertft"
    FAILED_EXCHANGE_REFRESH = "fertft"
    SUCCESS_EXCHANGE_CLIENT = "seccft"
    FAILED_EXCHANGE_CLIENT = "feccft"
    SUCCESS_EXCHANGE_PASSWORD = "sepft"
    FAILED_EXCHANGE_PASSWORD = "fepft"
    REFRESH_TOKEN_REVOKED = "srrt"
    SUCCESS_SILENT_AUTH = "ssa"
    FAILED_SILENT_AUTH = "fsa"
    SUCCESS_USERS_IMPORT = "sui"
    FAILED_USERS_IMPORT = "fui"


DESCRIPTIONS: dict[LogType, str] = {
    LogType.SUCCESS_LOGIN: "Success Login",
    LogType.FAILED_LOGIN: "Failed Login",
    LogType.FAILED_LOGIN_PASSWORD: "Wrong email or password.",
    LogType.FAILED_LOGIN_USERNAME: "Wrong email or password.",
    LogType.SUCCESS_SIGNUP: "Success Signup",
    LogType.FAILED_SIGNUP: "Failed Signup",
    LogType.SUCCESS_LOGOUT: "Success Logout",
    LogType.FAILED_LOGOUT: "Failed Logout",
    LogType.SUCCESS_CHANGE_PASSWORD: "Password changed",
    LogType.FAILED_CHANGE_PASSWORD: "Failed Change Password",
    LogType.SUCCESS_CHANGE_PASSWORD_REQUEST: "Change password request",
    LogType.FAILED_CHANGE_PASSWORD_REQUEST: "Failed Change Password Request",
    LogType.SUCCESS_VERIFICATION_EMAIL: "Email verified",
    LogType.FAILED_VERIFICATION_EMAIL: "Failed Verification Email",
    LogType.SUCCESS_VERIFICATION_EMAIL_REQUEST: "Verification email sent",
    LogType.FAILED_VERIFICATION_EMAIL_REQUEST: "Failed Verification Email Request",
    LogType.BLOCKED_ACCOUNT: "Blocked Account",
    LogType.USER_BLOCK_RELEASED: "User login block released",
    LogType.SUCCESS_USER_DELETION: "Success User Deletion",
    LogType.SUCCESS_API_OPERATION: "Success API Operation",
    LogType.FAILED_SENDING_NOTIFICATION: "Failed Sending Notification",
    LogType.SUCCESS_EXCHANGE_CODE: "Authorization Code for Access Token",
    LogType.FAILED_EXCHANGE_CODE: "Failed Exchange of Authorization Code for Access Token",
    LogType.SUCCESS_EXCHANGE_REFRESH: "Refresh Token for Access Token",
    LogType.FAILED_EXCHANGE_REFRESH: "Failed Exchange of Refresh Token for Access Token",
    LogType.SUCCESS_EXCHANGE_CLIENT: "Client Credentials for Access Token",
    LogType.FAILED_EXCHANGE_CLIENT: "Failed Exchange of Client Credentials for Access Token",
    LogType.SUCCESS_EXCHANGE_PASSWORD: "Password for Access Token",
    LogType.FAILED_EXCHANGE_PASSWORD: "Failed Exchange of Password for Access Token",
    LogType.REFRESH_TOKEN_REVOKED: "Refresh token revoked",
    LogType.SUCCESS_SILENT_AUTH: "Successful silent authentication",
    LogType.FAILED_SILENT_AUTH: "Failed silent authentication",
    LogType.SUCCESS_USERS_IMPORT: "Successfully imported users",
    LogType.FAILED_USERS_IMPORT: "Failed to import users",
}

STRATEGY_TYPES = {"auth0": "database", "oidc": "enterprise"}


def strategy_type(strategy: str | None) -> str | None:
    if strategy is None:
        return None
    return STRATEGY_TYPES.get(strategy, "social")
