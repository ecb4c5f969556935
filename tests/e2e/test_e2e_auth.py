"""Sign up, log in, log out, and the admin screens' visibility, in the browser."""

import pytest
from conftest import PASSWORD, unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def test_signup_logout_and_login_again(page, ui):
    name = unique_name("sam")
    ui.signup(page, name.upper())  # the server lower-cases usernames
    expect(page.get_by_test_id("nav-user")).to_have_text(name)
    expect(page.get_by_test_id("balance")).to_have_text("0.00 USD")
    assert page.evaluate("() => Object.keys(sessionStorage).length") == 1

    page.get_by_test_id("nav-logout").click()
    expect(page.get_by_test_id("view-login")).to_be_visible()
    expect(page.get_by_test_id("nav-user")).to_have_count(0)
    assert page.evaluate("() => sessionStorage.length") == 0

    page.get_by_test_id("login-username").fill(name)
    page.get_by_test_id("login-password").fill("wrong password!")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_attribute("data-code", "invalid_credentials")

    ui.login(page, name)
    expect(page.get_by_test_id("wallet-username")).to_have_text(name)


def test_signup_errors_are_shown_next_to_the_form(page, ui, live_server):
    taken = live_server.signup(unique_name("taken"))["user"]["username"]
    ui.open(page, "/signup")
    page.get_by_test_id("signup-username").fill(taken)
    page.get_by_test_id("signup-password").fill(PASSWORD)
    page.get_by_test_id("signup-submit").click()
    expect(page.get_by_test_id("signup-error")).to_have_attribute("data-code", "username_taken")

    page.get_by_test_id("signup-username").fill("No Spaces Allowed")
    page.get_by_test_id("signup-submit").click()
    error = page.get_by_test_id("signup-error")
    expect(error).to_have_attribute("data-code", "validation_error")
    expect(error.get_by_test_id("error-details")).to_have_text(
        "A username is 3 to 32 letters, digits or underscores.")


def test_form_errors_are_sentences_about_the_input(page, ui):
    """No schema jargon, no error codes: what was wrong with what the person typed (issue 24)."""
    ui.open(page, "/signup")
    page.get_by_test_id("signup-username").fill(unique_name("short"))
    page.get_by_test_id("signup-password").fill("a" * 73)  # the browser lets it by; 73 characters > 72
    page.get_by_test_id("signup-submit").click()
    error = page.get_by_test_id("signup-error")
    expect(error).to_have_text("Please check what you entered."
                               "A password needs 8 to 72 characters (fewer if they are accented letters or emoji).")
    for jargon in ("schema", "validation_error", "HTTP", "Value error", "pattern"):
        expect(error).not_to_contain_text(jargon)


def test_a_revoked_session_returns_to_login(page, ui, live_server):
    user = live_server.signup(unique_name("rev"))
    ui.login(page, user["user"]["username"])
    # The wallet has finished its own API calls (the live layer's custom token too).
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-live", "true")
    token = page.evaluate("() => sessionStorage.getItem(Object.keys(sessionStorage)[0])")
    assert live_server.api("POST", "/api/v1/auth/logout", token).status_code == 204
    ui.send(page, "transfer", unique_name(), "1")  # the next API call finds the session ended
    expect(page.get_by_test_id("view-login")).to_be_visible()
    expect(page.get_by_test_id("flash")).to_contain_text("log in again")
