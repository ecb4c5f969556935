"""Deposits, transfers, history, reversals: what the UI shows must match the ledger."""

import pytest
from conftest import unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def names(*signups):
    return [s["user"]["username"] for s in signups]


def test_deposit_and_transfer_show_on_both_sides(new_page, ui, api, pair, admin_user):
    alice, bob = pair
    a_name, b_name = names(alice, bob)

    admin = new_page()
    ui.login(admin, admin_user["user"]["username"])
    ui.go(admin, "/admin/ledger", "view-ledger")
    ui.send(admin, "dep", a_name, "50", "welcome")
    expect(admin.get_by_test_id("dep-success")).to_contain_text(f"Deposited 50.00 USD to {a_name}")
    assert api.balance(alice["token"]) == 5000

    a = new_page()
    ui.login(a, a_name)
    expect(a.get_by_test_id("balance")).to_have_text("50.00 USD")
    ui.send(a, "transfer", b_name, "12.34", "lunch")
    expect(a.get_by_test_id("transfer-success")).to_contain_text(f"Sent 12.34 USD to {b_name}")
    expect(a.get_by_test_id("balance")).to_have_text("37.66 USD")
    assert api.balance(alice["token"]) == 3766
    assert api.balance(bob["token"]) == 1234

    ui.go(a, "/history", "view-history")
    sent = a.get_by_test_id("transfer-row").filter(has_text=b_name)
    expect(sent).to_have_count(1)
    expect(sent.get_by_test_id("transfer-amount")).to_have_text("-12.34 USD")
    expect(sent.get_by_test_id("transfer-memo")).to_have_text("lunch")
    expect(a.get_by_test_id("posting-row")).to_have_count(2)  # the deposit's credit and the transfer's debit

    b = new_page()
    ui.login(b, b_name)
    expect(b.get_by_test_id("balance")).to_have_text("12.34 USD")
    ui.go(b, "/history", "view-history")
    received = b.get_by_test_id("transfer-row").filter(has_text=a_name)
    expect(received).to_have_count(1)
    expect(received).to_have_attribute("data-direction", "in")
    expect(received.get_by_test_id("transfer-amount")).to_have_text("+12.34 USD")

    # The admin reverses it in the UI; the money goes back.
    transfer_id = received.get_attribute("data-transfer-id")
    ui.go(admin, "/admin/ledger", "view-ledger")
    admin.get_by_test_id("rev-id").fill(transfer_id)
    admin.get_by_test_id("rev-reason").fill("sent by mistake")
    admin.get_by_test_id("rev-submit").click()
    expect(admin.get_by_test_id("rev-success")).to_contain_text("Reversed: 12.34 USD")
    assert api.balance(alice["token"]) == 5000
    assert api.balance(bob["token"]) == 0

    # Reversing twice is refused, and the refusal is shown by the form.
    admin.get_by_test_id("rev-id").fill(transfer_id)
    admin.get_by_test_id("rev-reason").fill("again")
    admin.get_by_test_id("rev-submit").click()
    expect(admin.get_by_test_id("rev-error")).to_have_attribute("data-code", "conflict")

    b.get_by_test_id("nav-history").click()
    b.reload()
    expect(b.locator(f'[data-testid="transfer-row"][data-transfer-id="{transfer_id}"]')).to_contain_text("reversed")


def test_double_clicked_transfer_moves_money_once(page, ui, api, pair):
    alice, bob = pair
    a_name, b_name = names(alice, bob)
    api.deposit(a_name, 1000)
    keys = []
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key"))
            if r.method == "POST" and r.url.endswith("/api/v1/transfers") else None)

    ui.login(page, a_name)
    page.get_by_test_id("transfer-to").fill(b_name)
    page.get_by_test_id("transfer-amount").fill("2.50")
    page.get_by_test_id("transfer-submit").dblclick()
    expect(page.get_by_test_id("transfer-success")).to_contain_text("Sent 2.50 USD")
    expect(page.get_by_test_id("balance")).to_have_text("7.50 USD")

    assert api.balance(alice["token"]) == 750
    assert api.balance(bob["token"]) == 250
    received = api.call("GET", "/transfers", bob["token"]).json()["items"]
    assert [t["amount"] for t in received] == [250]
    assert keys and len(set(keys)) == 1, keys


def test_retry_after_a_lost_response_reuses_the_key(page, ui, api, pair):
    """The first answer never reaches the browser; the retry must not pay twice."""
    alice, bob = pair
    a_name, b_name = names(alice, bob)
    api.deposit(a_name, 1000)
    keys = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server does the transfer...
            route.abort("connectionreset")  # ...but the browser never hears back
        else:
            route.continue_()

    page.route("**/api/v1/transfers", lose_first_answer)
    ui.login(page, a_name)
    ui.send(page, "transfer", b_name, "3", "flaky network")
    expect(page.get_by_test_id("transfer-error")).to_contain_text("Could not reach the server")
    page.get_by_test_id("transfer-submit").click()  # same inputs: a retry
    expect(page.get_by_test_id("transfer-success")).to_contain_text("was not repeated")

    assert len(keys) == 2 and keys[0] == keys[1]
    assert api.balance(alice["token"]) == 700
    assert api.balance(bob["token"]) == 300

    # A new intended transfer (edited form) gets a new key and does move money.
    ui.send(page, "transfer", b_name, "1", "second one")
    expect(page.get_by_test_id("transfer-success")).to_contain_text("Sent 1.00 USD")
    assert len(keys) == 3 and keys[2] != keys[0]
    assert api.balance(bob["token"]) == 400


def test_transfer_errors_are_shown_next_to_the_form(page, ui, api, pair):
    alice, bob = pair
    a_name, b_name = names(alice, bob)
    api.deposit(a_name, 500)
    ui.login(page, a_name)
    error = page.get_by_test_id("transfer-error")

    ui.send(page, "transfer", b_name, "1.234")
    expect(error).to_contain_text("at most two decimals")  # caught before any request

    ui.send(page, "transfer", a_name, "1")
    expect(error).to_have_attribute("data-code", "validation_error")  # to oneself
    expect(error).to_contain_text("yourself")

    ui.send(page, "transfer", unique_name("nobody"), "1")
    expect(error).to_have_attribute("data-code", "not_found")

    ui.send(page, "transfer", b_name, "5.01")
    expect(error).to_have_attribute("data-code", "insufficient_funds")
    assert api.balance(alice["token"]) == 500
    assert api.balance(bob["token"]) == 0


def test_amounts_are_parsed_to_exact_cents(page, ui):
    """Units text to integer cents without float error, and back."""
    ui.open(page, "/login")
    cases = ["12.34", "0.29", "1.005", "0.1", ".5", "19.99", "1,234.56", "1000000000", "1000000000.01",
             "0", "-1", "1e3", "12,34", "abc", ""]
    parsed = page.evaluate("""async (cases) => {
        const m = await import('/js/money.js');
        return cases.map((c) => { try { return m.parseAmount(c); } catch { return null; } });
    }""", cases)
    assert parsed == [1234, 29, None, 10, 50, 1999, 123456, 100_000_000_000, None, None, None, None, None, None, None]
    shown = page.evaluate("""async () => {
        const m = await import('/js/money.js');
        return [m.formatMoney(1234, 'USD'), m.formatMoney(-5, 'USD'), m.formatMoney(123456789, 'EUR'),
                m.formatMoney(250, 'USD', { signed: true })];
    }""")
    assert shown == ["12.34 USD", "-0.05 USD", "1,234,567.89 EUR", "+2.50 USD"]


LONG_MEMO = "thanks for the concert tickets and the dinner afterwards, see you next week"


def test_history_reads_on_a_phone(new_page, ui, api, pair):
    """Ids shortened (the whole id on hover), memos broken between words, and on a phone
    nothing scrolls sideways (issue 24)."""
    alice, bob = pair
    a_name, b_name = names(alice, bob)
    api.deposit(a_name, 500, memo=LONG_MEMO)
    page = new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    ui.login(page, a_name)
    ui.go(page, "/history", "view-history")
    row = page.get_by_test_id("transfer-row")
    expect(row).to_have_count(1)
    full_id = row.get_attribute("data-transfer-id")
    shown = row.get_by_test_id("transfer-id")
    expect(shown).to_have_text(f"{full_id[:8]}…")
    expect(shown).to_have_attribute("title", full_id)
    memo = row.get_by_test_id("transfer-memo")
    expect(memo).to_have_text(LONG_MEMO)
    # Every line of the memo ends at a word's end: no word is cut.
    words = memo.evaluate("""el => {
        const range = document.createRange(), text = el.firstChild, tops = [];
        for (let i = 0; i < text.length; i++) {
            range.setStart(text, i); range.setEnd(text, i + 1);
            tops.push(range.getBoundingClientRect().top);
        }
        return tops;
    }""")
    breaks = [i for i in range(1, len(words)) if words[i] > words[i - 1] + 1]
    assert breaks, "a memo this long wraps on a phone"
    assert all(LONG_MEMO[i - 1] == " " or LONG_MEMO[i] == " " for i in breaks), breaks
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    for table in ("transfers-table", "postings-table"):
        assert page.get_by_test_id(table).evaluate("t => t.scrollWidth <= t.parentElement.clientWidth"), table
