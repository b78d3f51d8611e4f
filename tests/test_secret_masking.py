"""Secrets stay sealed: every URL part that can hold one is hidden in every privacy form.

A table of Apprise URLs (every scheme the README names plus the common ones) with a
credential in every place the scheme has, and json/form/xml with custom ``+header``,
``-param`` and ``:payload`` entries; each secret must be absent from the masked form, down
to any 4 characters of it. Delivery runs against a real HTTP server on loopback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus

import pytest

from channels import (
    ChannelURLError,
    Deliverer,
    DeliveryStatus,
    Outgoing,
    mask_url,
    notify_type_for,
    remask,
    render,
    validate_channel_url,
)
from channels.secrecy import is_credential_name, looks_like_token, seal
from channels.urls import redact, secret_parts
from tests.helpers.webhook import Webhook, running

WINDOW = 4


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """Every run of WINDOW characters of a secret (raw or percent-encoded) found in ``text``."""
    found = []
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            found += [form[i:i + WINDOW] for i in range(len(form) - WINDOW + 1) if form[i:i + WINDOW] in text]
    return found


# Secrets are random-looking so that no 4 characters of one occur in a URL (or an audit
# entry's hash) by chance.
P1, P2, P3, P4, P5 = "Zq7vKp2Lx9WdR4tY", "Hv5Nb8Mc2Xz6Lk3J", "Wg4Tf1Qs8Dj3Pn6B", "Yc2Ra9Ue5Io7Ks1M", "Fb3Gh6Jt9Vm2Xq8N"
USER = "Kw9opsBotUz"
# Not hex: audit entries carry sha256 hashes, whose 4-character runs would match one by chance.
HOOK = "3g9k0c2w8b7q4e1z9a6y5c4m3e2x1a0v"

# (id, kind, url, secrets)
SCHEMES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("mailto", "email",
     f"mailto://{USER}:{P1}@smtp.example.org?from=alerts@example.org&to={{address}}&+X-Mail-Token={P2}",
     (P1, P2, USER)),
    ("mailto-query-login", "email",
     f"mailto://smtp.example.org?user={USER}&pass={P1}&from=alerts@example.org&to={{address}}", (P1, USER)),
    ("mailtos", "email",
     f"mailtos://{USER}:{P1}@smtp.example.org:587?from=alerts@example.org&to={{address}}&+Authorization=Bearer%20{P2}",
     (P1, P2, USER)),
    ("matrix", "group", f"matrix://{USER}:{P1}@matrix.example.org/#ops", (P1, USER)),
    ("matrixs-token", "chat", f"matrixs://matrix.example.org/{{address}}?token={P1}", (P1,)),
    ("matrixs-user-token", "group", f"matrixs://{P1}@matrix.example.org/#ops?mode=matrix", (P1,)),
    ("json", "group", f"json://{USER}:{P1}@hooks.example.org/notify/{HOOK}", (P1, USER, HOOK)),
    ("jsons-user-only", "group", f"jsons://{P1}@hooks.example.org/notify", (P1,)),
    ("form", "group", f"form://{USER}:{P1}@hooks.example.org/in/{HOOK}", (P1, USER, HOOK)),
    ("xml", "sms", f"xmls://{USER}:{P1}@hooks.example.org/sms/{{address}}?+X-Api-Key={P2}", (P1, P2, USER)),
    ("slack-webhook", "group", f"slack://T1JJ3T3L2/A1BRTD4JD/{P1}b7cD8eF9/#general", (P1, "T1JJ3T3L2", "A1BRTD4JD")),
    ("slack-bot", "chat", "slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/{address}",
     ("4ddbc191d40ee098cbaae6f3523ada2d",)),
    ("msteams", "group", f"msteams://acme/{P1}@{P2}/{P3}/{P4}/", (P1, P2, P3, P4)),
    ("workflows", "group", f"workflows://prod.westus.logic.azure.com:443/{P1}a2b3c4d5/{P2}", (P1, P2)),
    ("discord", "group", f"discord://4174216298/{P1}b7cD8eF9gH0iJ1kL_mN3oP4qR5sT6uV7", (P1,)),
    ("ntfy", "chat", f"ntfys://{USER}:{P1}@ntfy.example.org/{{address}}", (P1, USER)),
    ("ntfy-token", "chat", f"ntfys://ntfy.example.org/{{address}}?token=tk_{P1}", (P1,)),
    ("gotify", "group", f"gotifys://gotify.example.org/{P1[:15]}", (P1[:15],)),
    ("pushover", "chat", "pover://uq4mk8vn2xr6ty9we3as7df1gh5jl0@az4xc8vb2nm6qw9er3ty7ui1op5as0/{address}",
     ("uq4mk8vn2xr6ty9we3as7df1gh5jl0", "az4xc8vb2nm6qw9er3ty7ui1op5as0")),
    ("telegram", "chat", f"tgram://123456789:AA{P1}b7cD8eF9gH0/{{address}}", (f"AA{P1}",)),
    ("twilio", "sms", f"twilio://ACa1b2c3d4e5f60718293a4b5c6d7e8f90:{P1}@15551234567/{{address}}?apikey={P2}",
     (P1, P2, "a1b2c3d4e5f60718293a4b5c6d7e8f90")),
    ("signal", "sms", f"signals://{USER}:{P1}@signal.example.org/+15551234567/{{address}}", (P1, USER)),
    ("signal-query-login", "sms", f"signals://signal.example.org/+15551234567/{{address}}?user={USER}&pass={P1}",
     (P1, USER)),
]

# json://, form:// and xml:// (and their s-forms) with every custom entry Apprise knows.
CUSTOM = (f"?+X-Api-Key={P2}&-Authorization=Bearer%20{P3}&:token={P4}&-sig={P5}"
          f"&%2BX-Encoded={P2[::-1]}&+Cookie=session%3D{P3[::-1]}&:apikey={P4[::-1]}")
CUSTOM_SECRETS = (P1, P2, P3, P4, P5, P2[::-1], P3[::-1], P4[::-1], USER)
CUSTOM_ROWS = [(f"{scheme}-custom", "group", f"{scheme}://{USER}:{P1}@hooks.example.org/hook{CUSTOM}", CUSTOM_SECRETS)
               for scheme in ("json", "jsons", "form", "forms", "xml", "xmls")]
ALL_ROWS = SCHEMES + CUSTOM_ROWS


@pytest.mark.parametrize(("kind", "url", "secrets"), [r[1:] for r in ALL_ROWS], ids=[r[0] for r in ALL_ROWS])
def test_privacy_forms_hide_every_secret(kind: str, url: str, secrets: tuple[str, ...]) -> None:
    scheme = url.split("://")[0]
    masked = mask_url(url)
    assert masked.split("://")[0] in (scheme, scheme.rstrip("s"))  # workflows:// is shown as workflow://
    assert leaks(masked, secrets) == [], masked
    assert remask(masked) == masked  # stable: a stored form is not rewritten again and again
    try:
        validated = validate_channel_url(kind, url)
    except ChannelURLError as exc:
        assert scheme == "msteams", exc  # Apprise 2.3 dropped Microsoft's retired connector URLs
        assert leaks(str(exc), secrets) == [] and masked == "msteams://****"
        return
    assert leaks(validated, secrets) == [], validated
    assert ("{address}" in validated) == (kind != "group")
    assert remask(validated) == validated


@pytest.mark.parametrize(("kind", "url", "secrets"), [r[1:] for r in CUSTOM_ROWS], ids=[r[0] for r in CUSTOM_ROWS])
def test_custom_entries_keep_their_names(kind: str, url: str, secrets: tuple[str, ...]) -> None:
    masked = validate_channel_url(kind, url)
    for name in ("%2BX-Api-Key=****", "-Authorization=****", "%3Atoken=****", "-sig=****", "%2BCookie=****",
                 "%2BX-Encoded=****"):
        assert name in masked, masked
    assert "hooks.example.org/hook" in masked and "method=POST" in masked


@pytest.mark.parametrize(("kind", "url", "secrets"), [r[1:] for r in ALL_ROWS], ids=[r[0] for r in ALL_ROWS])
def test_error_texts_are_scrubbed_of_every_secret(kind: str, url: str, secrets: tuple[str, ...]) -> None:
    masked = mask_url(url)
    # an error quotes a value whole, as the URL holds it: "tk_…" for a token written tk_…
    written = {m for s in secrets for m in re.findall(rf"[^/:@?&=#]*{re.escape(s)}[^/:@?&=#]*", url)}
    assert written
    text = " | ".join(f"failed {w} {quote(w, safe='')} {quote_plus('Bearer ' + w)}" for w in written)
    assert leaks(redact(text, secret_parts(url, masked)), secrets) == []


def test_stored_leaky_forms_are_remasked_without_the_key() -> None:
    old = (f"json://{USER}:****@hooks.example.org/sms/{{address}}?method=POST&%2BX-Api-Key={P2}"
           f"&-Authorization=Bearer%20{P3}&%3Atoken={P4}&apikey={P5}&api_key={P1}&secret={P1}"
           f"&password={P1}&webhook={P1}&X-Auth-Token={P1}&format=markdown&to={{address}}")
    new = remask(old)
    assert leaks(new, (P1, P2, P3, P4, P5, USER)) == [], new
    assert new.count("{address}") == 2 and "format=markdown" in new and "method=POST" in new
    assert remask(new) == new


def test_the_recipient_stays_readable_and_cannot_unmask_anything() -> None:
    shown = f"json://{USER}:****@h.example.org/a/{HOOK}?%2BX-Key={P2}&to=ab"
    sealed = seal(shown, keep=("ab",), secrets=(P2,))
    assert sealed.endswith("&to=ab") and leaks(sealed, (P2, USER, HOOK)) == []
    # a recipient equal to a secret part only stays where it stands whole
    assert leaks(seal(shown, keep=("X-Key", "a")), (P2, HOOK)) == []


@pytest.mark.parametrize(("name", "secret"), [
    ("pass", True), ("password", True), ("token", True), ("key", True), ("secret", True), ("apikey", True),
    ("api_key", True), ("webhook", True), ("X-Api-Key", True), ("Authorization", True), ("Cookie", True),
    ("client_secret", True), ("access_token", True), ("sig", True), ("user", True), ("refreshToken", True),
    ("format", False), ("overflow", False), ("to", False), ("from", False), ("mode", False), ("priority", False),
    ("keepalive", False), ("method", False), ("cto", False), ("verify", False),
])
def test_credential_names(name: str, secret: bool) -> None:
    assert is_credential_name(name) is secret


@pytest.mark.parametrize(("value", "token"), [
    (HOOK, True), ("xoxb-1234-1234-4ddbc191d40e", True), (P1, True), ("+15555550100", False),
    ("person@example.org", False), ("notify", False), ("%23general", False), ("sample.recipient", False),
])
def test_token_like_values(value: str, token: bool) -> None:
    assert looks_like_token(value) is token


# --- delivery against a real HTTP server --------------------------------------------

@pytest.fixture
def hook() -> Iterator[Webhook]:
    with running() as server:
        yield server


@pytest.mark.parametrize("path", ["ok", "fail"])
def test_delivery_results_hide_every_secret(hook: Webhook, path: str) -> None:
    port = hook.server_address[1]
    url = f"json://{USER}:{P1}@127.0.0.1:{port}/{path}/+15555550123{CUSTOM}"
    rendered = render("sms", title="Drill", body="Test", severity="info", exercise=True, link=None)
    with Deliverer() as deliverer:
        result = deliverer.send(Outgoing(url=url, kind="sms", rendered=rendered, notify_type=notify_type_for("info"),
                                         address="+15555550123"))
    assert result.status is (DeliveryStatus.OK if path == "ok" else DeliveryStatus.FAILED)
    (request,) = hook.requests
    assert request["headers"]["X-Api-Key"] == P2 and request["headers"]["Cookie"] == f"session={P3[::-1]}"
    assert json.loads(request["body"])["token"] == P4 and f"sig={P5}" in request["path"]
    shown = f"{result.target} {result.error or ''}"
    assert leaks(shown, CUSTOM_SECRETS) == [], shown
    assert "/+15555550123" in result.target  # the recipient stays readable
    assert (result.error is None) == (path == "ok")
