import os

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .models import Entry


def index(request: HttpRequest) -> HttpResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return render(request, "guestbook/index.html", {"entries": Entry.objects.all(),
                                                    "visits": request.session["visits"]})


@require_POST
def add(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("text", "").strip()
    if text:
        Entry.objects.create(text=text[:200])
    return redirect("guestbook:index")


def env(request: HttpRequest) -> JsonResponse:
    """What the app sees of its mount (the tests compare it with the Flask examples')."""
    return JsonResponse({"app": os.environ.get("APPMOUNT_APP"), "script_name": request.META.get("SCRIPT_NAME"),
                         "path_info": request.META.get("PATH_INFO"), "is_secure": request.is_secure()})
