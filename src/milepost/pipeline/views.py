"""Pipeline pages (board, table, opportunity). Filled in by the pipeline UI work."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def board(request):  # pragma: no cover - placeholder
    return HttpResponse("board")


table = board
opportunity_detail = board
opportunity_move = board
