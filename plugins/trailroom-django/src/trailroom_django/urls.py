"""Include with `path("trailroom/", include("trailroom_django.urls"))`."""

from __future__ import annotations

from django.urls import path

from trailroom_django import views

app_name = "trailroom"

urlpatterns = [
    path("tryon/", views.tryon_create, name="tryon"),
    path("tryon/<str:job_id>/", views.tryon_status, name="tryon-status"),
    path("webhooks/", views.webhook, name="webhook"),
]
