"""/api/v2/log-streams: Auth0's shapes and errors, and Identa's delivery view."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

HTTP_SINK = {"httpEndpoint": "https://hooks.example.com/identa"}


async def test_create_read_update_delete_an_http_stream(api: httpx.AsyncClient) -> None:
    made = await api.post(
        "/api/v2/log-streams",
        json={
            "name": "Warehouse",
            "type": "http",
            "sink": {**HTTP_SINK, "httpAuthorization": "Bearer t"},
            "filters": [{"type": "category", "name": "auth.login.success"}],
        },
    )
    assert made.status_code == 201, made.text
    stream = made.json()
    assert stream["id"].startswith("lst_")
    assert stream["status"] == "active"
    assert stream["sink"]["httpContentFormat"] == "JSONLINES"
    assert stream["sink"]["httpContentType"] == "application/json"
    assert stream["sink"]["httpAuthorization"] == "Bearer t"
    assert len(stream["sink"]["httpSigningSecret"]) >= 32

    listed = (await api.get("/api/v2/log-streams")).json()
    assert [s["id"] for s in listed] == [stream["id"]]
    one = (await api.get(f"/api/v2/log-streams/{stream['id']}")).json()
    assert one["delivery"]["lag"] == 0 and one["delivery"]["failures"] == 0
    assert one["delivery"]["dead_letters"] == 0

    patched = await api.patch(
        f"/api/v2/log-streams/{stream['id']}",
        json={"status": "paused", "sink": {"httpContentFormat": "JSONARRAY"}, "name": "W2"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "paused"
    assert patched.json()["name"] == "W2"
    assert patched.json()["sink"]["httpEndpoint"] == HTTP_SINK["httpEndpoint"]
    assert patched.json()["sink"]["httpContentFormat"] == "JSONARRAY"
    assert patched.json()["sink"]["httpSigningSecret"] == stream["sink"]["httpSigningSecret"]

    assert (await api.delete(f"/api/v2/log-streams/{stream['id']}")).status_code == 204
    gone = await api.get(f"/api/v2/log-streams/{stream['id']}")
    assert gone.status_code == 404
    assert gone.json()["errorCode"] == "inexistent_log_stream"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "type": "splunkish", "sink": {}}, "'type' must be one of"),
        ({"name": "x", "type": "http", "sink": {}}, "Missing required properties"),
        ({"name": "x", "type": "http", "sink": {"httpEndpoint": "ftp://a/b"}}, "http:// or"),
        ({"name": "x", "type": "http", "sink": {"httpEndpoint": "not a url"}}, "httpEndpoint"),
        (
            {"name": "x", "type": "http", "sink": {**HTTP_SINK, "httpContentFormat": "XML"}},
            "httpContentFormat",
        ),
        ({"name": "x", "type": "http", "sink": {**HTTP_SINK, "bogus": 1}}, "bogus"),
        ({"name": "x", "type": "rabbitmq", "sink": {"rabbitmqUrl": "http://h"}}, "amqp://"),
        (
            {"name": "x", "type": "rabbitmq", "sink": {"rabbitmqUrl": "amqp://h:99999/"}},
            "rabbitmqUrl",
        ),
        (
            {"name": "x", "type": "rabbitmq", "sink": {"rabbitmqUrl": "amqp://h/"}},
            "rabbitmqRoutingKey",
        ),
        ({"name": "x", "type": "nats", "sink": {"natsUrl": "nats://h"}}, "natsSubject"),
        (
            {
                "name": "x",
                "type": "kafka",
                "sink": {"kafkaBootstrapServers": "h", "kafkaTopic": "t"},
            },
            "host:port",
        ),
        ({"name": "x", "type": "file", "sink": {"filePath": "../../etc/passwd"}}, "filePath"),
        ({"name": "x", "type": "file", "sink": {"filePath": "/tmp/x"}}, "filePath"),
        (
            {
                "name": "x",
                "type": "file",
                "sink": {},
                "filters": [{"type": "category", "name": "no"}],
            },
            "unknown filter category",
        ),
        ({"name": "", "type": "file", "sink": {}}, "'name'"),
        ({"type": "file", "sink": {}}, "Missing required properties: name"),
        ({"name": "x", "type": "file", "sink": {}, "extra": 1}, "Additional properties"),
    ],
)
async def test_invalid_configuration_is_refused_with_a_clear_400(
    api: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    response = await api.post("/api/v2/log-streams", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["statusCode"] == 400 and error["error"] == "Bad Request"
    assert error["errorCode"] == "invalid_body"
    assert message in error["message"]
    assert (await api.get("/api/v2/log-streams")).json() == []


async def test_a_patch_is_checked_too(api: httpx.AsyncClient) -> None:
    made = (
        await api.post("/api/v2/log-streams", json={"name": "f", "type": "file", "sink": {}})
    ).json()
    bad = await api.patch(f"/api/v2/log-streams/{made['id']}", json={"status": "sleeping"})
    assert bad.status_code == 400
    bad = await api.patch(f"/api/v2/log-streams/{made['id']}", json={"type": "http"})
    assert bad.status_code == 400 and "type" in bad.json()["message"]
    bad = await api.patch(f"/api/v2/log-streams/{made['id']}", json={"sink": {"fileMaxBytes": 3}})
    assert bad.status_code == 400 and "fileMaxBytes" in bad.json()["message"]


async def test_log_streams_need_their_scopes(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/api/v2/log-streams")
    assert response.status_code == 401
