"""Reading posted forms strictly: size-limited, UTF-8 only, one value per field."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_FORM_BYTES = 64 * 1024


class BadForm(Exception):
    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadForm("The request is too large.", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadForm("The request is too large.", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm("The form must be sent as application/x-www-form-urlencoded.", 415)
    body = await read_body(request, MAX_FORM_BYTES)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm("The form contains text that is not valid UTF-8.") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if "\x00" in value or "\x00" in key:
            raise BadForm("The form contains a NUL character.")
        form.setdefault(key, value)
    return form
