"""Process pages: every signed-in role may read them; content is the process map and history."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from milepost.process.services import DEFAULTS_DIR, process_load
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

ROLES = ["admin", "leader", "manager_a", "rep_a1", "rep_solo"]
# The shared definitions every role reads (no per-user rows): probed as each of ROLES.
EVERY_ROLE_READS = [
    reverse("process:list"),
    reverse("process:detail", args=["new_business"]),
    reverse("process:detail", args=["renewal"]),
    reverse("process:version", args=["new_business", 1]),
    reverse("process:map", args=["new_business"]),
    reverse("process:version_map", args=["new_business", 1]),
    reverse("process:export", args=["new_business", 1]),
]
PROBED = probed(*(("get", url) for url in EVERY_ROLE_READS))


@pytest.fixture
def two_versions(processes, nb_v2_text, org):
    """Defaults loaded, then new business changed once (by the admin), next to its playbooks."""
    return process_load(
        text=nb_v2_text, source_name="nb_v2.yaml", user=org.admin, base_dir=DEFAULTS_DIR
    ).version


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_list_detail_and_old_version(role, org, client_for, two_versions):
    client = client_for(getattr(org, role))
    for url in EVERY_ROLE_READS:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "url",
    [
        reverse("process:list"),
        reverse("process:detail", args=["new_business"]),
        reverse("process:version", args=["new_business", 1]),
    ],
)
def test_anonymous_is_sent_to_login(client, processes, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "url",
    [
        reverse("process:detail", args=["nope"]),
        reverse("process:version", args=["new_business", 9]),
        reverse("process:version", args=["nope", 1]),
    ],
)
def test_unknown_process_or_version_is_404(org, client_for, processes, url):
    assert client_for(org.rep_a1).get(url).status_code == 404


def test_list_shows_current_version_stage_count_loader_and_older_versions(
    org, client_for, two_versions
):
    html = client_for(org.rep_a1).get(reverse("process:list")).content.decode()
    assert "<caption>Sales processes and their current versions</caption>" in html
    row = html.split('data-process="new_business"')[1].split("</tr>")[0]
    assert "v2" in row
    assert ">8<" in row
    assert "Admin" in row
    assert reverse("process:version", args=["new_business", 1]) in row
    renewal = html.split('data-process="renewal"')[1].split("</tr>")[0]
    assert "v1" in renewal
    assert ">6<" in renewal
    assert "(loader not recorded)" in renewal


def test_detail_is_the_process_map_in_order(org, client_for, processes):
    response = client_for(org.rep_a1).get(reverse("process:detail", args=["new_business"]))
    assert response.context["nav"] == "process"
    html = response.content.decode()
    order = [html.index(f'data-stage="{key}"') for key in ("engage", "discover", "commit", "won")]
    assert order == sorted(order)
    commit = html.split('data-stage="commit"')[1].split("</article>")[0]
    assert "<h3" in commit
    assert "Commit to change" in commit
    assert "Explore" in commit
    assert "20%" in commit
    assert "Pipeline" in commit
    assert "expected 21 days, at most 45 days" in commit
    assert "The buyer decides the problem must be solved now" in commit
    assert "The economic buyer confirmed solving this problem is a priority" in commit
    assert "verified by the buyer" in commit
    assert "verified by the manager" in commit
    assert "Automatic check: a contact with buying role Economic buyer is attached" in commit
    assert "Ask the champion for a meeting with the economic buyer" in commit
    assert "This is the first version." in html
    # The print styles are a static file (the Content-Security-Policy forbids inline <style>).
    assert "milepost/process-detail.css" in html
    with open(finders.find("milepost/process-detail.css")) as css:
        assert "@media print" in css.read()


def test_criterion_without_rule_says_a_person_confirms_it(org, client_for, processes):
    html = client_for(org.rep_a1).get(reverse("process:detail", args=["new_business"]))
    discover = html.content.decode().split('data-criterion="problem_and_cost_confirmed"')[1]
    assert "No automatic check: a person confirms it." in discover.split("</li>")[0]


def test_old_version_is_shown_from_its_own_rows_with_a_pointer_to_current(
    org, client_for, two_versions
):
    html = client_for(org.rep_b1).get(reverse("process:version", args=["new_business", 1]))
    html = html.content.decode()
    assert "This is an older version." in html
    assert reverse("process:detail", args=["new_business"]) in html
    evaluate = html.split('data-stage="evaluate"')[1].split("</article>")[0]
    assert "35%" in evaluate
    assert "Commit to change" in html


def test_current_version_shows_readable_diff_against_previous(org, client_for, two_versions):
    html = client_for(org.manager_b).get(reverse("process:detail", args=["new_business"]))
    html = html.content.decode()
    changes = html.split('id="changes-heading"')[1].split("</section>")[0]
    assert reverse("process:version", args=["new_business", 1]) in changes
    assert "stage &#x27;evaluate&#x27;: probability 35 → 40" in changes
    assert "stage &#x27;commit&#x27;: label “Commit to change” → Commit" in changes
    history = html.split('id="history-heading"')[1]
    assert "2 changes" in history
    assert "first version" in history
    assert "nb_v2.yaml" in history


def test_list_and_detail_query_counts_do_not_grow_with_versions(
    org, client_for, two_versions, django_assert_max_num_queries, nb_v2_text
):
    # A third version: the counts below are the same as with one version.
    process_load(text=nb_v2_text.replace("probability: 40", "probability: 45"))
    client = client_for(org.rep_a1)
    # session + user, then processes and all their versions (with stage counts).
    with django_assert_max_num_queries(4):
        assert client.get(reverse("process:list")).status_code == 200
    # session + user, the version, its stages, their criteria, the version history.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("process:detail", args=["new_business"]))
    assert "probability 40 → 45" in response.content.decode()
