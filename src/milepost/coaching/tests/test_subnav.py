"""Every coaching page links the coaching sections; the leader pages only for managers."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["coaching:home", "coaching:actions", "skills:home"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("role", "sees_leader_pages"), [("rep_a1", False), ("manager_a", True)])
def test_coaching_pages_link_each_section(org, client_for, page, role, sees_leader_pages):
    response = client_for(getattr(org, role)).get(reverse(page), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    nav = html.split('aria-label="Coaching"', 1)[1].split("</nav>", 1)[0]
    for name in ("coaching:home", "coaching:actions", "skills:home"):
        assert f'href="{reverse(name)}"' in nav
    for name in ("coaching_leaders:overview", "coaching_leaders:digest"):
        assert (f'href="{reverse(name)}"' in nav) is sees_leader_pages
