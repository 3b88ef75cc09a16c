"""The one HTTP policy of every client: redaction, the token bucket,
Retry-After, and the request loop over real HTTP (a marketplace sandbox with
no app mounted answers scripted faults, then 404)."""

import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from connectbooks_goflow.core import http_policy
from connectbooks_goflow.core.http_policy import (
    ErrorKinds,
    HttpPolicy,
    MalformedResponse,
    NetworkError,
    RateLimiter,
    Redactor,
    RequestError,
    ServerError,
    Service,
    ThrottledError,
)
from tools.marketplace_sandbox.server import MarketplaceSandbox

# -- redaction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("headers={'Authorization': 'Basic dXNlcjpwdw=='}", "dXNlcjpwdw=="),
        ("x-amz-access-token: Atza|IwEBIA-token", "IwEBIA-token"),
        ("grant_type=refresh_token&refresh_token=R-123456&client_id=c", "R-123456"),
        ('{"client_secret": "cs-9876543", "x": 1}', "cs-9876543"),
        ('{"access_token":"tok-55555","expires_in":3600}', "tok-55555"),
        ("got Atzr|IwEBIRefresh77 back", "IwEBIRefresh77"),
        (
            "GET https://s3.amazonaws.com/doc?X-Amz-Algorithm=AWS4&X-Amz-Signature=f00d"
            " failed",
            "f00d",
        ),
        (
            '"GET /storage/d1?X-Amz-Credential=K%2F1&X-Amz-Signature=beef HTTP/1.1"',
            "beef",
        ),
    ],
)
def test_known_secret_shapes_are_masked(text, leaked):
    masked = Redactor()(text)
    assert leaked not in masked and "***" in masked


def test_given_secrets_are_masked_and_plain_text_is_kept():
    redact = Redactor(["my-long-secret", "abc"])  # "abc" is too short to mask
    assert redact("the my-long-secret and abc") == "the *** and abc"
    redact.add("later-token-1")
    assert redact("x later-token-1 y") == "x *** y"
    plain = "GET /reports?pageSize=100 answered HTTP 503 (QuotaExceeded)"
    assert redact(plain) == plain
    assert "my-long" not in repr(redact) and "later-token" not in repr(redact)


def test_redacting_filter_cleans_third_party_records(caplog):
    logger = logging.getLogger("test.redaction.third_party")
    logger.addFilter(http_policy.RedactingFilter())
    caplog.set_level(logging.DEBUG, logger=logger.name)
    logger.debug('"%s %s HTTP/1.1" 200', "GET", "/doc?X-Amz-Signature=cafe1234")
    assert "cafe1234" not in caplog.text and "/doc?***" in caplog.text


# -- the token bucket ----------------------------------------------------------------


class FakeTime:
    def __init__(self):
        self.now = 50.0
        self.waits = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds


def test_bucket_allows_its_burst_then_its_rate():
    fake = FakeTime()
    limiter = RateLimiter(0.5, 3, clock=fake.clock, sleep=fake.sleep)

    for _request in range(5):
        limiter.wait()

    assert fake.waits == [2.0, 2.0], "3 at once, then one every 2 s"
    fake.now += 10  # idle: the bucket fills up to its burst again, not more
    for _request in range(4):
        limiter.wait()
    assert fake.waits == [2.0, 2.0, 2.0]


def test_bucket_with_a_sleep_that_does_not_move_the_clock():
    waits = []
    limiter = RateLimiter(1.0, 1, clock=lambda: 7.0, sleep=waits.append)
    for _request in range(4):
        limiter.wait()
    assert waits == [1.0, 2.0, 3.0], "the slots are counted, not the clock"


def test_bucket_max_wait_raises_without_taking_a_token():
    fake = FakeTime()
    limiter = RateLimiter(0.1, 1, clock=fake.clock, sleep=fake.sleep)
    limiter.wait()
    with pytest.raises(ThrottledError) as caught:
        limiter.wait(max_wait=5)
    assert caught.value.retry_after == pytest.approx(10.0)
    assert fake.waits == []
    fake.now += 10
    assert limiter.wait(max_wait=5) == 0.0, "the refused call took nothing"


def test_retry_after_forms():
    def header(value):
        response = requests.Response()
        if value is not None:
            response.headers["Retry-After"] = value
        return http_policy.retry_after_seconds(response)

    assert header("0.25") == 0.25
    assert header("3") == 3.0
    assert header("-2") == 0.0
    assert header(None) is None and header("soon") is None and header("nan") is None
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 25 <= header(format_datetime(later, usegmt=True)) <= 30


# -- the request loop --------------------------------------------------------


class OwnError(Exception):
    def __init__(self, message, *, status=None):
        super().__init__(message)
        self.status = status


class OwnServer(OwnError, ServerError):
    pass


class OwnNetwork(OwnServer, NetworkError):
    pass


SERVICE = Service(
    name="Shop",
    errors=ErrorKinds(server=OwnServer, network=OwnNetwork),
    server_hint="Shop is down.",
    wait_hint="stopped.",
)


@pytest.fixture
def server():
    with MarketplaceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def policy(sleeps):
    with HttpPolicy(
        SERVICE, timeout=(2, 2), max_retries=2, sleep=sleeps, loopback=True
    ) as made:
        yield made


def test_retries_5xx_and_resets_then_returns_the_answer(server, policy, sleeps):
    server.fail_next(1, status=502)
    server.reset_next(1)
    server.script_responses([{"status": 200, "body": {"ok": True}}])

    response, payload = policy.request(
        "GET", server.url + "/x", what="the test", expect_json=True
    )

    assert response.status_code == 200 and payload == {"ok": True}
    assert [r.status for r in server.requests] == [502, -1, 200]
    assert len(sleeps.waits) == 2 and policy.request_count == 3


def test_the_clients_error_classes_are_raised(server, policy):
    server.reset_next(3)
    with pytest.raises(OwnNetwork, match=r"Shop closed the connection .* Shop is down"):
        policy.request("GET", server.url + "/x", what="the test")
    server.fail_next(3, status=500)
    with pytest.raises(OwnServer, match="HTTP 500") as caught:
        policy.request("GET", server.url + "/x", what="the test")
    assert not isinstance(caught.value, NetworkError)


def test_other_4xx_are_returned_to_the_client_at_once(server, policy, sleeps):
    response = policy.request("GET", server.url + "/nothing", what="the test")
    assert response.status_code == 404 and sleeps.waits == []


def test_a_page_that_is_not_json_is_retried_then_named(server, policy, sleeps):
    html = {"status": 200, "body": "<html/>", "headers": {"Content-Type": "text/html"}}
    server.script_responses([html] * 3)
    with pytest.raises(MalformedResponse, match=r"not JSON \(text/html, 7 bytes\), 3"):
        policy.request("GET", server.url + "/x", what="the test", expect_json=True)
    assert len(sleeps.waits) == 2


def test_max_wait_turns_a_long_retry_after_into_a_throttled_error(server, sleeps):
    with HttpPolicy(SERVICE, max_wait=10, sleep=sleeps, loopback=True) as policy:
        server.fail_next(1, status=429, retry_after="30.5")
        with pytest.raises(ThrottledError, match="asks to wait 30 seconds") as caught:
            policy.request("GET", server.url + "/x", what="the test")
    assert caught.value.retry_after == 30.5 and sleeps.waits == []


def test_max_wait_on_the_rate_limit_sends_nothing(server, sleeps):
    with HttpPolicy(SERVICE, max_wait=1, sleep=sleeps, loopback=True) as policy:
        limiter = policy.limiter(0.01, 1)
        policy.request("GET", server.url + "/x", what="one", limiter=limiter)
        with pytest.raises(ThrottledError, match="rate limit allows") as caught:
            policy.request("GET", server.url + "/x", what="two", limiter=limiter)
    assert caught.value.retry_after > 99 and len(server.requests) == 1


def test_server_waits_are_capped_by_max_wait(server, sleeps):
    with HttpPolicy(SERVICE, max_wait=2, sleep=sleeps, loopback=True) as policy:
        server.fail_next(1, status=503, retry_after="120")
        policy.request("GET", server.url + "/x", what="the test")
    assert sleeps.waits == [2]


def test_the_session_is_closed_on_every_path(server, sleeps):
    closed = []

    class Session(requests.Session):
        def close(self):
            closed.append(True)
            super().close()

    original = http_policy.requests.Session
    http_policy.requests.Session = Session
    try:
        with pytest.raises(OwnServer):
            with HttpPolicy(
                SERVICE, max_retries=0, sleep=sleeps, loopback=True
            ) as policy:
                server.fail_next(1, status=500)
                policy.request("GET", server.url + "/x", what="the test")
        with HttpPolicy(SERVICE, loopback=True):
            pass
    finally:
        http_policy.requests.Session = original
    assert closed == [True, True]
    assert policy.session.trust_env is False, "no proxy for the local sandbox"


def test_a_given_session_is_left_open():
    session = requests.Session()
    with HttpPolicy(SERVICE, session=session) as policy:
        assert policy.session is session
    assert session.adapters, "still usable"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeouts"),
        ({"timeout": (1, 2, 3)}, "timeouts"),
        ({"max_retries": -1}, "retries"),
        ({"max_wait": -1}, "longest wait"),
    ],
)
def test_settings_are_checked(options, message):
    with pytest.raises(http_policy.ConfigError, match=message):
        HttpPolicy(SERVICE, **options)


def test_a_request_that_cannot_be_sent_is_a_request_error(policy):
    with pytest.raises(RequestError, match="could not be sent to Shop"):
        policy.request("GET", "nonsense://x", what="the test")
