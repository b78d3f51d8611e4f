"""channels.urls: validating channel URLs, filling in addresses, masking secrets."""

from __future__ import annotations

import apprise
import pytest
from apprise.plugins.email import NotifyEmail

from channels import ChannelAddressError, ChannelURLError, fill_address, mask_url, validate_channel_url
from channels.urls import redact, secret_parts

SMTP = "mailtos://alerts:Pa55%2Fw0rd@smtp.example.com?from=alerts@example.com&to={address}"


def targets(url: str) -> list[str]:
    plugin = apprise.Apprise.instantiate(url)
    assert isinstance(plugin, NotifyEmail)
    return [t[1] for t in plugin.targets]


def test_personal_email_url_masked_with_placeholder_shown() -> None:
    masked = validate_channel_url("email", SMTP)
    assert "{address}" in masked
    assert "Pa55" not in masked and "w0rd" not in masked
    assert masked.startswith("mailtos://****:****@smtp.example.com")


@pytest.mark.parametrize("url", [
    "nosuch://user:Pa55w0rd@host/{address}",
    "nosuch+x://Pa55w0rd@host/{address}",
])
def test_unknown_scheme_names_the_scheme_but_not_the_secret(url: str) -> None:
    with pytest.raises(ChannelURLError) as info:
        validate_channel_url("email", url)
    message = str(info.value)
    assert url.split("://")[0] + "://" in message
    assert "Pa55w0rd" not in message


@pytest.mark.parametrize("url", ["not a url", "", "   ", "://nothing"])
def test_malformed_url(url: str) -> None:
    with pytest.raises(ChannelURLError):
        validate_channel_url("email", url)


def test_apprise_rejection_is_reported_without_secrets() -> None:
    with pytest.raises(ChannelURLError) as info:
        validate_channel_url("email", "mailto://user:Pa55w0rd@127.0.0.1?from=not-an-email&to={address}")
    assert "mailto://" in str(info.value) and "Pa55w0rd" not in str(info.value)


def test_address_placeholder_is_required_for_personal_kinds() -> None:
    with pytest.raises(ChannelURLError, match=r"\{address\}"):
        validate_channel_url("email", SMTP.replace("{address}", "bob@example.com"))
    with pytest.raises(ChannelURLError, match=r"\{address\}"):
        validate_channel_url("sms", "vonage://apikey1:secret12345678@15551234567/")


def test_address_placeholder_is_refused_in_group_kind() -> None:
    with pytest.raises(ChannelURLError, match="group"):
        validate_channel_url("group", "json://127.0.0.1:9000/hook/{address}")


def test_misspelt_placeholder_is_named() -> None:
    with pytest.raises(ChannelURLError, match=r"\{adress\}"):
        validate_channel_url("email", SMTP.replace("{address}", "{adress}"))


def test_unknown_kind() -> None:
    with pytest.raises(ChannelURLError, match="kind"):
        validate_channel_url("pager", "json://127.0.0.1/x")


@pytest.mark.parametrize("extra", ["&cc=boss@example.com", "&bcc=boss@example.com", ",boss@example.com"])
def test_personal_url_reaching_more_than_one_person_is_refused(extra: str) -> None:
    with pytest.raises(ChannelURLError, match="exactly one"):
        validate_channel_url("email", SMTP + extra)


def test_placeholder_where_apprise_does_not_read_a_recipient_is_refused() -> None:
    with pytest.raises(ChannelURLError, match="recipient"):
        validate_channel_url("email", SMTP.replace("to={address}", "to=x@example.com&name={address}"))


@pytest.mark.parametrize(("kind", "url"), [
    ("sms", "vonage://apikey1:secret12345678@15551234567/{address}"),
    ("chat", "matrix://bot:Pa55w0rd@127.0.0.1:8008/@{address}:localhost"),
    ("group", "matrix://bot:Pa55w0rd@127.0.0.1:8008/#ops"),
    ("group", "json://user:Pa55w0rd@127.0.0.1:9000/hook"),
])
def test_other_kinds_validate_and_mask(kind: str, url: str) -> None:
    masked = validate_channel_url(kind, url)
    assert "Pa55w0rd" not in masked and "secret12345678" not in masked
    assert ("{address}" in masked) == (kind != "group")


@pytest.mark.parametrize("address", [
    "bob@example.com", "bob+alerts@example.com", "a&b=c@example.com", "x%41y@example.com",
    "bob#1@example.com", "bob?x@example.com", "bob/x@example.com",
])
@pytest.mark.parametrize("template", [
    "mailto://127.0.0.1:25?from=alerts@example.com&to={address}",
    "mailto://127.0.0.1:25/{address}?from=alerts@example.com",
])
def test_email_address_survives_query_and_path(template: str, address: str) -> None:
    assert targets(fill_address(template, address)) == [address]


def test_phone_number_in_path_keeps_its_plus() -> None:
    url = fill_address("vonage://apikey1:secret12345678@15551234567/{address}", "+447700900123")
    assert url.endswith("/+447700900123")


@pytest.mark.parametrize("address", ["", "  ", "a@x.com,b@y.com", "a@x.com;b@y.com", "a b@x.com", "a\n@x.com"])
def test_address_that_would_become_several_recipients_is_refused(address: str) -> None:
    with pytest.raises(ChannelAddressError):
        fill_address("mailto://h?to={address}", address)


def test_fill_address_needs_a_placeholder() -> None:
    with pytest.raises(ChannelURLError):
        fill_address("mailto://h?to=x@example.com", "bob@example.com")


def test_mask_url_never_shows_the_password() -> None:
    assert "Pa55" not in mask_url(SMTP)
    assert "{address}" in mask_url(SMTP)
    assert mask_url("json://user:Pa55w0rd@127.0.0.1/x").startswith("json://****:****@")
    assert mask_url("nosuch://user:Pa55w0rd@host") == "nosuch://****"
    assert mask_url("garbage Pa55w0rd") == "****"


def test_redact_removes_what_the_privacy_form_hides() -> None:
    url = "tgram://123456789:AAbbCCddEEffGGhhIIjjKKllMMnn/-100123"
    masked = mask_url(url)
    secrets = secret_parts(url, masked)
    text = redact("bot 123456789:AAbbCCddEEffGGhhIIjjKKllMMnn failed; AAbbCCddEEffGGhhIIjjKKllMMnn", secrets)
    assert "AAbbCC" not in text and "****" in text
