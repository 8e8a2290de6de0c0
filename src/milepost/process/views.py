"""Process pages. Filled in by the process work."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def process_list_view(request):  # pragma: no cover - placeholder
    return HttpResponse("process")


process_detail = process_list_view
