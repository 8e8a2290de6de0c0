"""The board's layout and paging in a real browser (issue 12): the page itself never scrolls
sideways (the columns scroll inside the board), it ends where the board ends, at desktop and
phone widths; "Show more" loads the next cards of a column and the control dots arrive for
every card on screen. No sleeps: every wait is on a condition."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from milepost.pipeline.presentation import CARDS_PER_COLUMN
from milepost.testing.factories import make_account, make_opportunity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAGES = ["engage", "discover", "commit", "evaluate", "justify", "negotiate"]
EXTRA = 4  # cards past the first page of Engage


@pytest.fixture
def full_board(org, processes):
    """More than a page in Engage, long names and accounts, a few cards everywhere else."""
    owners = [org.rep_a1, org.rep_a2, org.manager_a]
    account = make_account("Extraordinarily Long Customer Name Incorporated International")
    for i in range(CARDS_PER_COLUMN + EXTRA):
        make_opportunity(
            owners[i % 3],
            account=account,
            name=f"Engage {i:02d} — a deal with a rather long descriptive name",
            stage_key="engage",
            close_in_days=i,
        )
    for i, stage in enumerate(STAGES[1:] * 2):
        make_opportunity(owners[i % 3], name=f"{stage} {i}", stage_key=stage, close_in_days=i)


def wait_for_dots(page: Page) -> None:
    expect(page.locator(".deal-card").first).to_be_visible()
    expect(page.locator(".control-dot.is-unknown")).to_have_count(0)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_does_not_scroll_sideways_and_ends_with_the_board(
    width, org, full_board, login, page
):
    page.set_viewport_size({"width": width, "height": 800})
    login(org.manager_a)
    wait_for_dots(page)
    sizes = page.evaluate(
        """() => {
          const root = document.documentElement;
          const board = document.querySelector('#board');
          const columns = document.querySelector('.board');
          return {
            scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
            pageHeight: root.scrollHeight,
            boardBottom: board.getBoundingClientRect().bottom + window.scrollY,
            columnsScroll: columns.scrollWidth, columnsWidth: columns.clientWidth,
          };
        }"""
    )
    assert sizes["scrollWidth"] <= sizes["clientWidth"], sizes
    # Below the board: only the help line and the page's padding, not thousands of pixels.
    assert sizes["pageHeight"] <= sizes["boardBottom"] + 250, sizes
    # Six columns do not fit: they scroll inside the board's own box.
    assert sizes["columnsScroll"] > sizes["columnsWidth"], sizes


def test_show_more_loads_the_next_cards_and_their_control_dots(org, full_board, login, page):
    login(org.manager_a)
    engage = page.locator('.card-list[data-stage="engage"]')
    expect(engage.locator(".deal-card")).to_have_count(CARDS_PER_COLUMN)
    wait_for_dots(page)
    more = engage.get_by_role("button", name="Show more deals in Engage")
    expect(more).to_contain_text(f"{EXTRA} not shown")
    more.click()
    expect(engage.locator(".deal-card")).to_have_count(CARDS_PER_COLUMN + EXTRA)
    expect(more).to_have_count(0)  # the last page offers no more
    first_new = engage.locator(".deal-card").nth(CARDS_PER_COLUMN)
    expect(first_new).to_contain_text(f"Engage {CARDS_PER_COLUMN:02d}")
    expect(first_new.locator(".deal-name a")).to_be_focused()
    wait_for_dots(page)
    expect(first_new.locator(".control-dot")).to_have_attribute(
        "aria-label",
        "Under control",  # Engage is the first stage: nothing claimed yet
    )
    expect(page.locator('.board-column[data-stage="engage"] .col-count')).to_have_text(
        str(CARDS_PER_COLUMN + EXTRA)
    )
